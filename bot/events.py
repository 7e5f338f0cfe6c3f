"""Background work of the web process: the referral consumer of the outbox stream, and the release of
referral rewards whose refund window is over. Any number of processes may run both: the consumer
group shares the entries out, and every step is idempotent."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

from loyalty_core.redis_store.stream_consumer import StreamConsumer
from loyalty_core.referral import REFERRAL_GROUP

from .services import Services

log = logging.getLogger("bot.events")

RELEASE_EVERY_SECONDS = 60.0


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def referral_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer of the ledger's events that referrals act on (call `step()` to run it by hand)."""
    referrals = services.referrals
    return StreamConsumer(services.redis, REFERRAL_GROUP, name or consumer_name(),
                          {"first_purchase": referrals.on_first_purchase, "purchase_refunded": referrals.on_refund},
                          **options)


async def release_rewards_forever(services: Services, stop: asyncio.Event,
                                  every: float = RELEASE_EVERY_SECONDS) -> None:
    while not stop.is_set():
        try:
            await services.referrals.release_due()
        except Exception as error:  # noqa: BLE001 - try again next round
            log.warning("referral release failed (%s)", type(error).__name__)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


@contextlib.asynccontextmanager
async def background_work(services: Services):
    """Runs the consumer and the release loop until the block ends."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(referral_consumer(services).run(stop)),
             asyncio.create_task(release_rewards_forever(services, stop))]
    try:
        yield
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
