"""Faults under load, against the real processes:
- the Redis server killed (SIGKILL) and started again on its append-only file while tills post purchases to
  two `serve` processes: every purchase a till was answered for is still in the ledger, none twice, and the
  consumers process reads on after it;
- a `serve` and a `sender` process killed (SIGKILL) mid-load: every till request is answered once (the till
  sends it again, same idempotency key, to the other serve process), and every push is delivered or listed
  in doubt, none twice."""
from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
from collections import Counter

import orjson
import pytest

from bot.embedded_redis import EmbeddedRedis
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core import keys
from loyalty_core.clock import SystemClock
from loyalty_core.redis_store.connection import connect
from tests.e2e.processes import Process, base_env, free_ports, private_port_range
from tests.e2e.test_processes import ACCOUNT, SECRETS, program_without_promotion_days
from tests.e2e.till_load import TillLoad, assert_booked_once
from tests.polling import until
from tests.pushes import followers, text_push

pytestmark = pytest.mark.e2e

PII_KEY = base64.b64decode(SECRETS["PII_KEY"])


def free_private_port() -> int:
    first, last = private_port_range()
    for port in range(first, last + 1):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port for a private redis-server")


def services_on(redis):
    return build_services(redis, SystemClock(), PII_KEY, LogSmsSender())


async def members(services, count: int, prefix: str) -> dict[str, str]:
    """openid -> member_id of members who follow the account."""
    joined = await followers(services, count, prefix=prefix)
    return {member.openid: member.member_id for member in joined}


def started(processes: list[Process]) -> None:
    for process in processes:
        process.wait_for_line("bot listening" if "serve" in process.args else "reading")


def stopped_cleanly(processes: list[Process]) -> None:
    codes = [process.stop() for process in processes]
    assert codes == [0] * len(processes), "\n".join(p.output[-1500:] for p in processes)


def tills_web_and_consumers(redis_url: str, tmp_path) -> tuple[list[int], list[Process]]:
    """Two `serve` processes for the till, on ports of their own, and a `consumers` process (not started)."""
    ports = free_ports(2)
    env = base_env(**ACCOUNT, **SECRETS, REDIS_URL=redis_url, WECHAT_API_BASE="http://127.0.0.1:9",
                   PROGRAM_FILE=str(program_without_promotion_days(tmp_path)))
    processes = [Process(["-m", "bot", "serve"], env | {"BOT_PORT": str(port)}) for port in ports]
    return ports, processes + [Process(["-m", "bot", "consumers"], env)]


@pytest.fixture
def aof_redis(tmp_path):
    """A redis-server of the test's own on its append-only file, fsynced at every write as the README
    recommends for a ledger that must lose nothing (`appendfsync everysec` may lose a second on power loss)."""
    server = EmbeddedRedis(tmp_path / "redis", free_private_port(), appendfsync="always").start()
    holder = {"server": server}
    yield holder
    holder["server"].stop()


async def read_everything(redis) -> bool:
    """Every consumer group has read every event (those whose acknowledgement the outage cut are pending, for
    a consumer to claim again after `claim_idle_ms`)."""
    groups = await redis.xinfo_groups(keys.OUTBOX_STREAM)
    return bool(groups) and all(g["lag"] == 0 for g in groups)


async def test_redis_killed_and_restarted_on_its_aof_mid_load_loses_no_acknowledged_purchase(aof_redis, tmp_path):
    server = aof_redis["server"]
    redis = connect(server.url)
    try:
        services = services_on(redis)
        member_ids = await members(services, 20, "oAof")
        ports, processes = tills_web_and_consumers(server.url, tmp_path)
        try:
            started(processes)
            load = TillLoad(ports, SECRETS["POS_API_SECRET"])
            killed = asyncio.Event()
            running = asyncio.create_task(load.run(load.purchases(list(member_ids), 600, "AOF"), hold=(150, killed)))
            assert await until(lambda: _answered(load, 150), timeout=30)
            acknowledged_before = dict(load.answers)
            assert len(acknowledged_before) < 600                                      # killed mid-load
            os.kill(server.pid, signal.SIGKILL)
            killed.set()                                         # the load goes on while Redis is away
            server.stop()                                        # reaps it; the data stays in its directory
            server = aof_redis["server"] = EmbeddedRedis(server.data_dir, server.port, appendfsync="always").start()
            await asyncio.wait_for(running, 60)
            assert len(load.answers) == 600 and set(acknowledged_before) <= set(load.answers)
            assert {txn: load.answers[txn] for txn in acknowledged_before} == acknowledged_before
            await assert_booked_once(services, load, member_ids)
            assert await until(lambda: read_everything(redis), timeout=30), await redis.xinfo_groups(keys.OUTBOX_STREAM)
        finally:
            stopped_cleanly(processes)
    finally:
        await redis.aclose()


async def _answered(load: TillLoad, count: int) -> bool:
    return len(load.answers) >= count


async def statuses(redis, member_ids) -> Counter:
    async with redis.pipeline(transaction=False) as pipe:
        for member_id in member_ids:
            pipe.hvals(keys.member_pushes(member_id))
        found = await pipe.execute()
    return Counter(orjson.loads(raw)["status"] for records in found for raw in records)


PUSH_MEMBERS, PUSHES_EACH = 400, 5


async def test_a_serve_and_a_sender_killed_mid_load_answer_every_till_request_once_and_send_no_push_twice(
        start_sandbox, redis, redis_url, tmp_path):
    sandbox = await start_sandbox()
    await sandbox.client.settings(quotas=False)              # our facts keep the windows; the sandbox's are off
    await sandbox.client.fault("message/custom/send", latency_ms=50)    # the senders still busy at the kill
    services = services_on(redis)
    receivers = await followers(services, PUSH_MEMBERS, prefix="oKill")
    await sandbox.client.add_followers(PUSH_MEMBERS, prefix="oKill")
    await plan_pushes(services, receivers)
    buyers = await members(services, 20, "oBuyer")
    ports = free_ports(2)
    account = ACCOUNT | {"WECHAT_APPID": sandbox.config.appid, "WECHAT_APPSECRET": sandbox.config.appsecret}
    env = base_env(**account, **SECRETS, REDIS_URL=redis_url, WECHAT_API_BASE=sandbox.url, PUSH_CALL_TIMEOUT="2",
                   PUSH_SENDER_CONCURRENCY="50", PROGRAM_FILE=str(program_without_promotion_days(tmp_path)))
    serves = [Process(["-m", "bot", "serve"], env | {"BOT_PORT": str(port)}) for port in ports]
    senders = [Process(["-m", "bot", "sender"], env) for _ in range(2)]
    try:
        started(serves + senders)
        load = TillLoad(ports, SECRETS["POS_API_SECRET"])
        killed = asyncio.Event()
        running = asyncio.create_task(load.run(load.purchases(list(buyers), 400, "KILL"), hold=(100, killed)))
        delivered = sandbox.state.account.delivered
        assert await until(lambda: _all_true(len(load.answers) >= 100, delivered["custom"] >= 400), timeout=30)
        for victim in (serves[0], senders[0]):
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(10)
        at_kill = await statuses(redis, [r.member_id for r in receivers])
        answered_at_kill = len(load.answers)
        killed.set()                                  # the rest of the load meets one serve process dead
        await asyncio.wait_for(running, 60)
        assert answered_at_kill < 400 < load.tries and len(load.answers) == 400        # killed mid-load
        assert 0 < at_kill["sent"] < PUSH_MEMBERS * PUSHES_EACH
        await assert_booked_once(services, load, buyers)
        assert await load.replayed(ports[1]) == load.answers          # each answered once: a retry gets it again
        assert await until(lambda: _all_final(redis, receivers), timeout=40)
    finally:
        stopped_cleanly([serves[1], senders[1]])
        for victim in (serves[0], senders[0]):
            victim.stop()
    texts = Counter(entry["message"]["text"]["content"] for entry in sandbox.state.account.deliveries
                    if entry["channel"] == "custom")
    assert max(texts.values()) == 1                                    # no push sent twice
    final = await statuses(redis, [r.member_id for r in receivers])
    assert final["sent"] + final["in_doubt"] == PUSH_MEMBERS * PUSHES_EACH
    assert final["in_doubt"] <= at_kill["in_flight"] + at_kill["in_doubt"]    # at most what was in flight
    assert final["sent"] <= len(texts) <= final["sent"] + final["in_doubt"]


async def plan_pushes(services, receivers) -> None:
    now = services.clock.now()
    await asyncio.gather(*(services.pushes.member_acted(r.member_id, "message", now, f"msg:{r.openid}")
                           for r in receivers))
    for start in range(0, len(receivers), 20):
        await asyncio.gather(*(services.pushes.plan(text_push(r.member_id, now, topic=f"notice:{n}",
                                                              text=f"{r.openid}:{n}"))
                               for r in receivers[start:start + 20] for n in range(PUSHES_EACH)))


async def _all_true(*conditions: bool) -> bool:
    return all(conditions)


async def _all_final(redis, receivers) -> bool:
    now = await statuses(redis, [r.member_id for r in receivers])
    return now["sent"] + now["in_doubt"] == PUSH_MEMBERS * PUSHES_EACH
