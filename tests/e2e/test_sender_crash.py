"""`python -m bot sender` killed outright (SIGKILL) in the middle of 10,000 pushes, then started again: every
push is delivered once or listed in doubt — no more in doubt than were in flight at the kill — and the
sandbox's message log holds no duplicate."""
from __future__ import annotations

import asyncio
import base64
import signal
from collections import Counter

import orjson
import pytest

from loyalty_core import keys
from loyalty_core.clock import SystemClock
from tests.e2e.processes import Process, base_env
from tests.polling import until
from tests.pushes import followers, push_services, text_push

pytestmark = pytest.mark.e2e

MEMBERS, PER_MEMBER = 2_000, 5          # 10,000 pushes, each member's 5 within its window of 5


async def started(process: Process, text: str) -> bool:
    return await until(lambda: _said(process, text), timeout=30)


async def _said(process: Process, text: str) -> bool:
    assert process.proc.poll() is None, process.output[-3000:]
    return any(text in line for line in process.lines)


async def statuses(redis, members) -> Counter:
    async with redis.pipeline(transaction=False) as pipe:
        for member in members:
            pipe.hvals(keys.member_pushes(member.member_id))
        found = await pipe.execute()
    return Counter(orjson.loads(raw)["status"] for records in found for raw in records)


@pytest.mark.timeout(300)     # its own waits (60 s to the kill, 90 s to the end) and 10,000 pushes planned first
async def test_a_sender_killed_mid_run_leaves_no_duplicate_and_no_more_in_doubt_than_in_flight(
        start_sandbox, redis, redis_url):
    sandbox = await start_sandbox()
    await sandbox.client.settings(quotas=False)             # our facts keep the windows; the sandbox's are off
    await sandbox.client.fault("message/custom/send", latency_ms=50)   # calls in flight at any moment
    services = push_services(redis, SystemClock())           # the sender process keeps real time too
    members = await followers(services, MEMBERS, prefix="oCrash")
    await sandbox.client.add_followers(MEMBERS, prefix="oCrash")
    now = services.clock.now()
    await asyncio.gather(*(services.pushes.member_acted(m.member_id, "message", now, f"msg:{m.openid}")
                           for m in members))
    for start in range(0, MEMBERS, 20):
        await asyncio.gather(*(services.pushes.plan(text_push(m.member_id, now, topic=f"notice:{n}",
                                                              text=f"{m.openid}:{n}"))
                               for m in members[start:start + 20] for n in range(PER_MEMBER)))
    env = base_env(REDIS_URL=redis_url, WECHAT_APPID=sandbox.config.appid, WECHAT_APPSECRET=sandbox.config.appsecret,
                   WECHAT_API_BASE=sandbox.url, PUSH_CALL_TIMEOUT="2", PUSH_SENDER_CONCURRENCY="100",
                   PII_KEY=base64.b64encode(b"c" * 32).decode())
    account = sandbox.state.account

    first = Process(["-m", "bot", "sender"], env)
    try:
        assert await started(first, "reading 8 partitions")
        # The kill follows the check with no await between, so the sandbox cannot answer in between: a call it
        # holds at the check is one the sender marked in flight and will never hear the end of.
        assert await until(lambda: _mid_call(account, 3_000), timeout=60)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
    finally:
        first.stop()
    at_kill = await statuses(redis, members)
    assert 0 < at_kill["sent"] < MEMBERS * PER_MEMBER and at_kill["in_flight"] > 0, at_kill

    second = Process(["-m", "bot", "sender"], env)
    try:
        assert await started(second, "reading 8 partitions")
        assert await until(lambda: _all_final(redis, members), timeout=90)
    finally:
        assert second.stop() == 0, second.output[-3000:]

    texts = Counter(entry["message"]["text"]["content"] for entry in account.deliveries
                    if entry["channel"] == "custom")
    assert max(texts.values()) == 1                          # no duplicate
    final = await statuses(redis, members)
    assert final["sent"] + final["in_doubt"] == MEMBERS * PER_MEMBER
    assert final["in_doubt"] <= at_kill["in_flight"]
    assert final["sent"] <= len(texts) <= final["sent"] + final["in_doubt"]
    assert await services.push_queue.in_doubt_count() == final["in_doubt"]
    assert await services.push_queue.backlog() == 0


async def _mid_call(account, delivered: int) -> bool:
    """At least `delivered` messages are delivered and the sandbox holds a call it has not answered."""
    return account.delivered["custom"] >= delivered and account.in_flight["message/custom/send"] > 0


async def _all_final(redis, members) -> bool:
    now = await statuses(redis, members)
    return now["sent"] + now["in_doubt"] == MEMBERS * PER_MEMBER
