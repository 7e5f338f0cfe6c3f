"""The scheduler's rules: which days a daily job still owes, when it runs next, and who leads.

Any number of scheduler processes may run; one leads, by a lease in Redis that it renews and that carries
a fencing token (a number that grows with every new leader). A job runs once per (job, day): the run is
claimed under the leader's token, so a second leader, a restart or a misfire catch-up finds the day done
(or takes over a run whose leader lost its lease, the job bodies being idempotent by natural keys). A day
that was missed while no scheduler ran is caught up, a bounded number of days back from the last day done.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Protocol

from pydantic import Field

from .clock import MALL_TZ, Clock
from .program_fields import ClockTime, Whole, rules


@rules
class ScheduleRules:
    """The `[schedule]` section: when each daily job runs (mall time, HH:MM), and how far back a scheduler
    that starts after some downtime catches up."""
    points_expiry: ClockTime = Field(time(0, 10), alias="points-expiry")
    coupon_expiry: ClockTime = Field(time(0, 20), alias="coupon-expiry")
    birthday_greetings: ClockTime = Field(time(9, 0), alias="birthday-greetings")
    holidays: ClockTime = Field(time(9, 30), alias="holidays")
    tier_review: ClockTime = Field(time(9, 30), alias="tier-review")
    expiry_warnings: ClockTime = Field(time(10, 0), alias="expiry-warnings")
    anniversaries: ClockTime = Field(time(10, 0), alias="anniversaries")
    referral_release: ClockTime = Field(time(10, 30), alias="referral-release")
    event_reminders: ClockTime = Field(time(8, 0), alias="event-reminders")
    purchase_surveys: ClockTime = Field(time(11, 0), alias="purchase-surveys")
    lifecycle: ClockTime = Field(time(10, 15), alias="lifecycle")
    campaigns: ClockTime = Field(time(10, 20), alias="campaigns")
    metrics: ClockTime = Field(time(23, 50), alias="metrics")
    retention: ClockTime = Field(time(3, 30), alias="retention")
    catch_up_days: Annotated[int, Whole(1, 31)] = 7

    def at(self, job: str) -> time:
        """The time of day of a job, by its name (`points-expiry`)."""
        return getattr(self, job.replace("-", "_"))


@dataclass(frozen=True)
class Lease:
    leader: bool             # whether the asking process holds the lease now
    holder: str              # who holds it ("" = nobody)
    token: int               # the holder's fencing token
    expires_at: datetime | None


@dataclass(frozen=True)
class RunRecord:
    job: str
    day: date
    status: str              # running | done | failed
    summary: str = ""
    at: datetime | None = None      # when it finished (or started, while running)
    holder: str = ""


@dataclass(frozen=True)
class Claim:
    granted: bool            # this caller runs the job for the day now
    record: RunRecord | None = None  # when not granted: the run that is done, or running under a live leader


def scheduled_at(day: date, at: time) -> datetime:
    return datetime.combine(day, at, MALL_TZ)


def next_run(at: time, now: datetime) -> datetime:
    """The next moment `at` (mall time) comes, after `now`."""
    local = now.astimezone(MALL_TZ)
    today = scheduled_at(local.date(), at)
    return today if today > local else scheduled_at(local.date() + timedelta(days=1), at)


def days_owed(last_done: date | None, now: datetime, at: time, max_catch_up: int) -> list[date]:
    """The days a daily job at `at` still owes at `now`, oldest first: those after the last day done, up to
    today once today's time has come, at most `max_catch_up` days back. A job that never ran owes only today."""
    local = now.astimezone(MALL_TZ)
    latest = local.date() if local >= scheduled_at(local.date(), at) else local.date() - timedelta(days=1)
    if last_done is None:
        return [latest] if latest == local.date() else []
    first = max(last_done + timedelta(days=1), latest - timedelta(days=max_catch_up - 1))
    return [first + timedelta(days=n) for n in range((latest - first).days + 1)]


class ScheduleStore(Protocol):
    async def take_lease(self, holder: str, now: datetime, ttl: timedelta) -> Lease:
        """Take the lease if it is free or lapsed, or renew it if `holder` has it (same token)."""
    async def give_up_lease(self, holder: str, token: int) -> None: ...
    async def lease(self, now: datetime) -> Lease: ...
    async def claim_run(self, job: str, day: date, holder: str, token: int | None, now: datetime) -> Claim:
        """Claim the (job, day) run. With a token, only while that token holds the lease; without one (a run by
        hand), only while no live leader is running it."""
    async def finish_run(self, job: str, day: date, holder: str, status: str, summary: str, now: datetime) -> bool:
        """Record the outcome, if the run is still this holder's."""
    async def last_done(self, job: str) -> date | None: ...
    async def last_run(self, job: str) -> RunRecord | None: ...


class Schedule:
    """Leadership and the once-per-day runs, over the store; the jobs themselves live with the scheduler."""

    def __init__(self, store: ScheduleStore, clock: Clock, lease_ttl: timedelta = timedelta(seconds=30),
                 max_catch_up: int = 7):
        self._store = store
        self._clock = clock
        self.lease_ttl = lease_ttl
        self.max_catch_up = max_catch_up

    async def lead(self, holder: str) -> Lease:
        return await self._store.take_lease(holder, self._clock.now(), self.lease_ttl)

    async def step_down(self, lease: Lease) -> None:
        if lease.leader:
            await self._store.give_up_lease(lease.holder, lease.token)

    async def leader(self) -> Lease:
        return await self._store.lease(self._clock.now())

    async def owed(self, job: str, at: time) -> list[date]:
        return days_owed(await self._store.last_done(job), self._clock.now(), at, self.max_catch_up)

    async def claim(self, job: str, day: date, holder: str, token: int | None) -> Claim:
        return await self._store.claim_run(job, day, holder, token, self._clock.now())

    async def finish(self, job: str, day: date, holder: str, status: str, summary: str) -> bool:
        return await self._store.finish_run(job, day, holder, status, summary, self._clock.now())

    async def last_run(self, job: str) -> RunRecord | None:
        return await self._store.last_run(job)
