"""Background work of the web process: the consumers of the outbox stream (referrals; the birthday
index, which repairs an index step a crash cut short; the welcome gift, which completes a gift a crash
cut short; the join-day index of membership anniversaries; the notices of the ledger's events; the member
facts segments read; the purchases and redemptions campaigns are measured by; the managers' confirmed
broadcasts, sent to their communities; the daily totals of the headline metrics; the retention of each member's
history and coupons), and periodic housekeeping — relaying domain events a crashed process left in a member's
outbox, and settling redemptions a crashed process left half done. Any number of processes may run all of it: each consumer group shares its entries
out, and every step is idempotent. (Calendar jobs — expiry, warnings, tier reviews, referral rewards whose
refund window is over, the lifecycle, campaigns due — belong to the scheduler, bot/scheduler/.)"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Awaitable, Callable

from loyalty_core.birthday import BIRTHDAY_INDEX_GROUP
from loyalty_core.broadcasts import BROADCASTS_GROUP, CONFIRMED_EVENT
from loyalty_core.campaign_results import RESULTS_GROUP
from loyalty_core.metrics import METRICS_GROUP
from loyalty_core.lifecycle import FACTS_GROUP
from loyalty_core.members import JOIN_DAY_GROUP
from loyalty_core.redis_store.connection import UNAVAILABLE, OutageLog
from loyalty_core.redis_store.stream_consumer import StreamConsumer
from loyalty_core.referral import REFERRAL_GROUP
from loyalty_core.retention import RETENTION_GROUP
from loyalty_core.surveys import SURVEYS_GROUP
from loyalty_core.welcome import WELCOME_GROUP

from .notices import NOTICES_GROUP, NoticeEvents
from .services import Services

log = logging.getLogger("bot.events")

OUTBOX_SWEEP_EVERY_SECONDS = 30.0
REDEMPTION_SWEEP_EVERY_SECONDS = 60.0
FOLD_SWEEP_EVERY_SECONDS = 60.0


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def referral_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer of the ledger's events that referrals act on (call `step()` to run it by hand)."""
    referrals = services.referrals
    return StreamConsumer(services.redis, REFERRAL_GROUP, name or consumer_name(),
                          {"first_purchase": referrals.on_first_purchase, "purchase_refunded": referrals.on_refund,
                           "member_refollowed": referrals.on_refollow},
                          **options)


def birthday_index_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that files members in the birthday index after their birthday was set or changed."""
    on_event = services.birthdays.on_birthday_event
    return StreamConsumer(services.redis, BIRTHDAY_INDEX_GROUP, name or consumer_name(),
                          {"birthday_set": on_event, "birthday_changed": on_event}, **options)


def join_day_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that files each new member under their join day (membership anniversaries), repairing a
    filing that a crash after the member's creation cut short."""
    return StreamConsumer(services.redis, JOIN_DAY_GROUP, name or consumer_name(),
                          {"member_joined": services.members.on_member_joined}, **options)


def notice_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that tells members what a purchase, refund, tier change or expiry warning did."""
    return StreamConsumer(services.redis, NOTICES_GROUP, name or consumer_name(),
                          NoticeEvents(services.notices, services.program).handlers(), **options)


def survey_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that files purchases for their satisfaction survey (when the program turns surveys on)."""
    return StreamConsumer(services.redis, SURVEYS_GROUP, name or consumer_name(),
                          {"points_earned": services.surveys.on_points_earned}, **options)


def facts_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that keeps each member's segmentation facts and lifecycle stage up to date."""
    return StreamConsumer(services.redis, FACTS_GROUP, name or consumer_name(), services.facts.handlers(), **options)


def campaign_results_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that counts purchases and coupon redemptions toward the campaigns members were in."""
    return StreamConsumer(services.redis, RESULTS_GROUP, name or consumer_name(), services.campaign_results.handlers(),
                          **options)


BROADCAST_CLAIM_IDLE_MS = 600_000     # a broadcast to a big community takes minutes: not taken over sooner


def broadcast_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that sends each confirmed manager broadcast to its community (off the 确认 reply's path)."""
    options.setdefault("claim_idle_ms", BROADCAST_CLAIM_IDLE_MS)
    return StreamConsumer(services.redis, BROADCASTS_GROUP, name or consumer_name(),
                          {CONFIRMED_EVENT: services.broadcasts.on_confirmed}, **options)


def metrics_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that keeps the mall's daily totals (spend, coupons issued and used) for the headline metrics."""
    return StreamConsumer(services.redis, METRICS_GROUP, name or consumer_name(), services.metrics.handlers(),
                          **options)


def retention_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that forgets what a member's points history and coupons keep beyond `[retention]`."""
    return StreamConsumer(services.redis, RETENTION_GROUP, name or consumer_name(), services.retention.handlers(),
                          **options)


def welcome_consumer(services: Services, name: str | None = None, **options) -> StreamConsumer:
    """The consumer that gives each new member the welcome gift, if the callback that created them did not."""
    return StreamConsumer(services.redis, WELCOME_GROUP, name or consumer_name(),
                          {"member_joined": services.welcome.on_member_joined}, **options)


async def every(seconds: float, job: Callable[[], Awaitable], stop: asyncio.Event) -> None:
    """Run `job` now and then every `seconds` until `stop`; a failed round is logged and retried, and a Redis
    outage is logged once, however many rounds it lasts, and once more when Redis is back."""
    name = getattr(job, "__qualname__", job)
    outage = OutageLog(log, f"background job {name}")
    while not stop.is_set():
        try:
            await job()
        except UNAVAILABLE as error:
            outage.failed(error)
        except Exception as error:  # noqa: BLE001 - try again next round
            log.warning("background job %s failed (%s)", name, type(error).__name__)
        else:
            outage.succeeded()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)


def housekeeping(services: Services) -> list[tuple[float, Callable[[], Awaitable]]]:
    return [
        (OUTBOX_SWEEP_EVERY_SECONDS, lambda: services.outbox.sweep(services.clock.now())),
        (REDEMPTION_SWEEP_EVERY_SECONDS, services.redemption.sweep),
        (FOLD_SWEEP_EVERY_SECONDS, services.folds.resume_open),
    ]


@contextlib.asynccontextmanager
async def background_work(services: Services):
    """Runs the consumers and the housekeeping loops until the block ends."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(consumer.run(stop))
             for consumer in (referral_consumer(services), birthday_index_consumer(services),
                              welcome_consumer(services), join_day_consumer(services), notice_consumer(services),
                              survey_consumer(services), facts_consumer(services),
                              campaign_results_consumer(services), broadcast_consumer(services),
                              metrics_consumer(services), retention_consumer(services))]
    tasks += [asyncio.create_task(every(seconds, job, stop)) for seconds, job in housekeeping(services)]
    try:
        yield
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
