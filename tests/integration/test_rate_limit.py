"""One token bucket per endpoint in Redis, shared by every sender process."""
from __future__ import annotations

import asyncio

import pytest

from bot.scheduler.rate_limit import Rate, RateLimiter
from loyalty_core import keys
from loyalty_core.redis_store.connection import connect
from loyalty_core.redis_store.scripts import Scripts

CUSTOM = "message/custom/send"


async def test_one_bucket_is_shared_by_every_sender(redis, redis_url):
    rates = {CUSTOM: Rate(per_second=0.001, burst=10)}          # next to no refill during the test
    other_process = connect(redis_url)
    try:
        first, second = RateLimiter(Scripts(redis), rates), RateLimiter(Scripts(other_process), rates)
        assert await first.take(CUSTOM, 7) == (7, 0)
        granted, wait_ms = await second.take(CUSTOM, 7)
    finally:
        await other_process.aclose()
    assert granted == 3 and wait_ms > 0


async def test_a_sender_waits_for_the_bucket_to_refill_and_goes_on(redis):
    limiter = RateLimiter(Scripts(redis), {CUSTOM: Rate(per_second=500, burst=2)}, chunk=2)
    for _ in range(6):                                          # 2 at once, then 2 ms a token
        await limiter.acquire(CUSTOM)
    await limiter.aclose()
    assert float(await redis.hget(keys.rate_bucket(CUSTOM), "tokens")) < 2


async def test_an_endpoint_without_a_rate_is_not_limited(redis):
    limiter = RateLimiter(Scripts(redis), {CUSTOM: Rate(per_second=1, burst=1)})
    await limiter.acquire("message/template/send")
    assert await redis.exists(keys.rate_bucket("message/template/send")) == 0


@pytest.mark.timeout(20)
async def test_sends_that_keep_arriving_while_the_bucket_refills_all_go_on(redis):
    """A send that asks just as a refill ends must wait for the next one, not spin on the one that ended."""
    limiter = RateLimiter(Scripts(redis), {CUSTOM: Rate(per_second=2000, burst=1)}, chunk=1)

    async def sends() -> None:
        for _ in range(10):
            await asyncio.sleep(0)
            await limiter.acquire(CUSTOM)

    await asyncio.gather(*(sends() for _ in range(20)))          # 200 tokens at 2 a millisecond
    assert float(await redis.hget(keys.rate_bucket(CUSTOM), "tokens")) < 1
