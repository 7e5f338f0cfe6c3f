"""Fixtures of the push side: senders against a sandbox, each on its own Redis connection and HTTP session
(like a process of its own), and a clock that moves with the sandbox's.

- `make_sender(sandbox, policy=…, **SenderConfig fields)` -> a Sender; tests drive it with `step()`/`drain()`
- `align_clock(clock, sandbox)`: our manual clock at the sandbox's time, so windows agree on both sides;
  `advance(clock, sandbox, seconds)` moves both
"""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.scheduler.rate_limit import RateLimiter
from bot.scheduler.sender import Sender, SenderConfig
from bot.services import push_services
from loyalty_core.clock import MALL_TZ
from loyalty_core.push.planner import PushPolicy
from loyalty_core.redis_store.connection import connect
from loyalty_core.redis_store.mass_batches import RedisMassBatches
from loyalty_core.redis_store.scripts import Scripts

TEST_SENDER = dict(concurrency=50, call_timeout=30.0, claim_idle_ms=600_000, retry_delays=(30.0,))


@pytest.fixture
async def make_sender(redis_url, make_wechat_api, clock):
    opened, senders = [], []

    async def make(sandbox, *, policy: PushPolicy | None = None, partitions: int = 8, name: str = "sender-1",
                   **config) -> Sender:
        redis = connect(redis_url)
        opened.append(redis)
        scripts = Scripts(redis)
        pushes, queue = push_services(redis, scripts, clock, policy or PushPolicy(), partitions)
        api = await make_wechat_api(sandbox, exactly_once=True)
        sender = Sender(pushes, queue, RedisMassBatches(redis), api, RateLimiter(scripts), name=name,
                        config=SenderConfig(**(TEST_SENDER | config)))
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        await sender.aclose()
    for redis in opened:
        await redis.aclose()


async def align_clock(clock, sandbox) -> None:
    clock.set(datetime.fromtimestamp((await sandbox.client.clock())["now"], MALL_TZ))


async def advance(clock, sandbox, seconds: float) -> None:
    clock.advance(seconds=seconds)
    await sandbox.client.advance(seconds)
