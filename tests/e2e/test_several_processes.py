"""A deployment of several processes of each kind on one Redis: two `serve`, two `consumers`, two `sender`.
A member chats through one serve process, a till books through the other and retries there, and the
purchase's notice, told by whichever consumers process took the event and sent by whichever sender took the
push, reaches the member once."""
from __future__ import annotations

import json
import time
from datetime import datetime

import aiohttp
import pytest

from bot.api.auth import sign
from loyalty_core.clock import MALL_TZ
from tests.e2e.processes import Process, base_env, free_ports
from tests.e2e.test_processes import ACCOUNT, SECRETS, program_without_promotion_days
from tests.polling import until
from wechat_sandbox.testing import SandboxClient

pytestmark = pytest.mark.e2e


@pytest.fixture
def deployment(redis_url, tmp_path):
    serve_ports, (sandbox_port,) = free_ports(2), free_ports(1)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox = Process(["-m", "wechat_sandbox"], base_env(**ACCOUNT, SANDBOX_PORT=str(sandbox_port),
                                                          BOT_CALLBACK_URL=f"http://127.0.0.1:{serve_ports[0]}/wechat"))
    env = base_env(**ACCOUNT, **SECRETS, REDIS_URL=redis_url, WECHAT_API_BASE=sandbox_url,
                   SMS_PROVIDER="sandbox", PROGRAM_FILE=str(program_without_promotion_days(tmp_path)))
    serves = [Process(["-m", "bot", "serve"], env | {"BOT_PORT": str(port)}) for port in serve_ports]
    workers = [Process(["-m", "bot", command], env) for command in ("consumers", "consumers", "sender", "sender")]
    processes = [sandbox, *serves, *workers]
    try:
        sandbox.wait_for_line("WeChat sandbox on")
        for serve in serves:
            serve.wait_for_line("bot listening")
        for worker in workers[:2]:
            worker.wait_for_line("reading outbox:events")
        for worker in workers[2:]:
            worker.wait_for_line("partitions")
        yield {"sandbox_url": sandbox_url, "serve_ports": serve_ports, "workers": workers}
    finally:
        codes = [process.stop() for process in processes]
    assert codes == [0] * len(processes), "\n".join(p.output[-1500:] for p in processes)


async def post_purchase(session: aiohttp.ClientSession, port: int, body: bytes, timestamp: str) -> tuple[int, dict]:
    headers = {"X-Timestamp": timestamp, "X-Signature": sign(SECRETS["POS_API_SECRET"], timestamp, body),
               "Content-Type": "application/json"}
    async with session.post(f"http://127.0.0.1:{port}/api/v1/purchases", data=body, headers=headers) as response:
        return response.status, await response.json()


async def test_a_purchase_through_one_serve_process_is_told_once_whichever_processes_do_the_work(deployment):
    first, second = deployment["serve_ports"]
    async with SandboxClient(deployment["sandbox_url"]) as wechat:
        openid = (await wechat.add_member(nickname="多进程"))["openid"]
        assert "欢迎加入" in (await wechat.follow(openid))["reply"]["text"]["content"]
        await wechat.text(openid, "积分")                  # opens the customer-service window for the notice
        body = json.dumps({"txn_id": "MP-1", "member": {"openid": openid}, "amount": "520.00",
                           "category": "fashion", "store_id": "S01",
                           "occurred_at": datetime.now(MALL_TZ).isoformat(timespec="seconds")}).encode()
        timestamp = str(int(time.time()))
        async with aiohttp.ClientSession() as session:
            booked = await post_purchase(session, second, body, timestamp)
            retried = await post_purchase(session, first, body, timestamp)    # the till's retry, elsewhere
        assert booked[0] == 200 and booked[1]["points_earned"] == 520
        assert retried == booked

        async def told():
            return [m for m in await wechat.delivered(openid, channel="custom")
                    if "获得 520 积分" in json.dumps(m["message"], ensure_ascii=False)]
        assert len(await until(told, timeout=20)) == 1
        assert "520" in (await wechat.text(openid, "积分"))["reply"]["text"]["content"]
