"""Fixtures that run the bot's web app in-process against the test Redis, alone (`start_bot`, with
tests.wechat_peer playing WeChat) or wired to the WeChat sandbox (`start_wired`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.app_keys import DISPATCHER
from bot.settings import Settings
from tests.fixtures_sandbox import SANDBOX_AES_KEY, SANDBOX_APPID, SANDBOX_SECRET, SANDBOX_TOKEN
from tests.wechat_peer import APPID, TOKEN

if TYPE_CHECKING:
    from tests.fixtures_sandbox import RunningSandbox
    from wechat_sandbox.testing import SandboxClient

POS_SECRET = "test-pos-secret"
ADMIN_SECRET = "test-admin-secret"


class CapturingSms:
    """An SMS port that keeps the codes, so a test can bind a phone the way a member does."""

    def __init__(self):
        self.codes: dict[str, str] = {}

    async def send_code(self, phone: str, code: str, *, valid_minutes: int) -> None:
        self.codes[phone] = code


def bot_settings(test_redis_url: str, **changes) -> Settings:
    base = Settings(redis_url=test_redis_url, wechat_token=TOKEN, wechat_appid=APPID, wechat_appsecret="test-secret",
                    pos_api_secret=POS_SECRET, admin_api_secret=ADMIN_SECRET, wechat_api_base="http://127.0.0.1:9")
    return base.with_(**changes)


@pytest.fixture
async def start_bot(redis_url, clock):
    """start_bot(**settings_changes, router=…, budget=…) -> a TestClient around a fresh app instance."""
    clients: list[TestClient] = []

    async def start(*, router=None, budget=None, background=False, **changes) -> TestClient:
        extra = {"budget": budget} if budget is not None else {}
        app = create_app(bot_settings(redis_url, **changes), clock=clock, router=router, background=background,
                         **extra)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


@dataclass
class Wired:
    """The bot app and the WeChat sandbox talking to each other, as in production."""
    bot: TestClient
    sandbox: "RunningSandbox"

    @property
    def wechat(self) -> "SandboxClient":
        return self.sandbox.client

    async def join(self, nickname: str = "", phone: str = "") -> str:
        """A new persona follows the account; returns its openid."""
        member = await self.wechat.add_member(nickname=nickname, phone=phone)
        await self.wechat.follow(member["openid"])
        return member["openid"]

    async def say(self, openid: str, text: str) -> str:
        """The member sends text; returns the bot's passive reply text ('' when there was none)."""
        return reply_text(await self.wechat.text(openid, text))

    async def tap(self, openid: str, key: str) -> str:
        return reply_text(await self.wechat.click(openid, key))

    async def drain(self) -> None:
        """Wait until deferred replies and follow-up messages have gone out."""
        await self.bot.app[DISPATCHER].drain()


def reply_text(outcome: dict) -> str:
    reply = outcome.get("reply") or {}
    return (reply.get("text") or {}).get("content", "")


@pytest.fixture
async def start_wired(start_bot, start_sandbox):
    """start_wired(safe_mode=False, router=…, budget=…, **bot_settings) -> Wired."""
    async def start(*, safe_mode: bool = False, router=None, budget=None, **changes) -> Wired:
        aes_key = SANDBOX_AES_KEY if safe_mode else None
        sandbox = await start_sandbox(aes_key=aes_key, callback_timeout=5.0)
        bot = await start_bot(router=router, budget=budget, wechat_api_base=sandbox.url, wechat_appid=SANDBOX_APPID,
                              wechat_appsecret=SANDBOX_SECRET, wechat_token=SANDBOX_TOKEN, wechat_aes_key=aes_key,
                              sms_provider="sandbox", **changes)
        await sandbox.client.settings(bot_callback_url=str(bot.make_url("/wechat")))
        return Wired(bot, sandbox)

    return start
