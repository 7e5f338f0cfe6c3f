"""Fixtures that run the WeChat sandbox in-process, a WeChatApi client against it, and a bot stub.

- `sandbox`: a running sandbox (no bot: callbacks are recorded, not sent) -> RunningSandbox(url, client, …)
- `start_sandbox(**config_changes)`: more sandboxes, or one with other settings (safe mode, a bot URL)
- `make_wechat_api(sandbox, **kwargs)`: a WeChatApi on its own session and Redis client (like a process)
- `wechat_api`: one WeChatApi against `sandbox`
- `bot_stub`: an HTTP endpoint that records the callbacks it receives and answers as the test says
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Awaitable, Callable

import aiohttp
import pytest
import redis.asyncio as aioredis

from loyalty_core.redis_store.connection import connect
from aiohttp import web

from bot.wechat_api import RetryPolicy, WeChatApi
from wechat_sandbox.api import SANDBOX_KEY
from wechat_sandbox.app import create_sandbox_app
from wechat_sandbox.config import SandboxConfig
from wechat_sandbox.core import Sandbox
from wechat_sandbox.testing import SandboxClient

SANDBOX_APPID = "wx5and60x7e5t0001"
SANDBOX_SECRET = "sandbox-test-secret"
SANDBOX_TOKEN = "sandbox-test-token"
SANDBOX_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
FAST_RETRIES = RetryPolicy(attempts=4, base_delay=0.005, max_delay=0.02)


def sandbox_test_config(**changes) -> SandboxConfig:
    base = SandboxConfig(appid=SANDBOX_APPID, appsecret=SANDBOX_SECRET, token=SANDBOX_TOKEN,
                         bot_callback_url=None, callback_timeout=0.2, job_delay=0.0, seed=20260115)
    return replace(base, **changes)


@dataclass
class RunningSandbox:
    url: str
    client: SandboxClient
    app: web.Application
    config: SandboxConfig

    @property
    def state(self) -> Sandbox:
        """The sandbox object itself, for assertions the control API does not offer."""
        return self.app[SANDBOX_KEY]

    async def move_to_morning(self, hour: int = 10) -> None:
        """Moves the sandbox clock to hour:00 (platform time) of the next day, so that a test's calls fall on
        one platform day (daily quotas) whatever the time of day the suite runs."""
        local = datetime.fromisoformat((await self.client.clock())["local"])
        morning = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
        await self.client.advance((morning - local).total_seconds())


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def start_sandbox():
    runners: list[tuple[web.AppRunner, SandboxClient]] = []

    async def start(**config_changes) -> RunningSandbox:
        config = sandbox_test_config(**config_changes)
        app = create_sandbox_app(config)
        runner, url = await _serve(app)
        client = SandboxClient(url)
        runners.append((runner, client))
        return RunningSandbox(url, client, app, config)

    yield start
    for runner, client in runners:
        await client.close()
        await runner.cleanup()


@pytest.fixture
async def sandbox(start_sandbox) -> RunningSandbox:
    return await start_sandbox()


@pytest.fixture
async def make_wechat_api(redis_url, redis):
    """make_wechat_api(sandbox, **kwargs): a client with its own HTTP session and Redis connection."""
    opened: list[tuple[aiohttp.ClientSession, aioredis.Redis]] = []

    async def make(running: RunningSandbox, **kwargs) -> WeChatApi:
        session = aiohttp.ClientSession()
        client_redis = connect(redis_url)
        opened.append((session, client_redis))
        kwargs.setdefault("retry", FAST_RETRIES)
        return WeChatApi(session, client_redis, running.config.appid, running.config.appsecret, running.url,
                         **kwargs)

    yield make
    for session, client_redis in opened:
        await session.close()
        await client_redis.aclose()


@pytest.fixture
async def wechat_api(make_wechat_api, sandbox) -> WeChatApi:
    return await make_wechat_api(sandbox)


# -- a stand-in for the bot's /wechat endpoint ------------------------------------------------------------
@dataclass
class StubRequest:
    query: dict[str, str]
    body: bytes
    arrived: float


Responder = Callable[[StubRequest, int], Awaitable[web.StreamResponse]]


async def answer_success(request: StubRequest, nth: int) -> web.StreamResponse:
    return web.Response(text="success")


@dataclass
class BotStub:
    url: str = ""
    requests: list[StubRequest] = field(default_factory=list)
    respond: Responder = answer_success      # (request, how many requests came before it) -> response

    async def handle(self, request: web.Request) -> web.StreamResponse:
        received = StubRequest(dict(request.query), await request.read(), time.time())
        self.requests.append(received)
        return await self.respond(received, len(self.requests) - 1)


@pytest.fixture
async def bot_stub():
    stub = BotStub()
    app = web.Application()
    app.router.add_post("/wechat", stub.handle)
    runner, url = await _serve(app)
    stub.url = f"{url}/wechat"
    yield stub
    await runner.cleanup()
