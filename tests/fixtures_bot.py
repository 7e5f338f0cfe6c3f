"""Fixtures that run the bot's web app in-process against the test Redis."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.settings import Settings
from tests.wechat_peer import APPID, TOKEN

POS_SECRET = "test-pos-secret"


def bot_settings(redis_url: str, **changes) -> Settings:
    base = Settings(redis_url=redis_url, wechat_token=TOKEN, wechat_appid=APPID, wechat_appsecret="test-secret",
                    pos_api_secret=POS_SECRET, wechat_api_base="http://127.0.0.1:9")
    return base.with_(**changes)


@pytest.fixture
async def start_bot(redis_url, clock):
    """start_bot(**settings_changes, router=…, budget=…) -> a TestClient around a fresh app instance."""
    clients: list[TestClient] = []

    async def start(*, router=None, budget=None, **changes) -> TestClient:
        extra = {"budget": budget} if budget is not None else {}
        app = create_app(bot_settings(redis_url, **changes), clock=clock, router=router, **extra)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()
