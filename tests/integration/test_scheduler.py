"""The scheduler against the real Redis: one leader by a fenced lease, each (job, day) once whatever the
number of schedulers, restarts and takeovers, catching up missed days, runs by hand."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

import pytest

from bot.scheduler.cli import job_list
from bot.scheduler.process import Scheduler, schedule_for
from bot.scheduler.runner import Job, JobContext, JobRunner
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core.clock import MALL_TZ

KEY = b"k" * 32
LEASE = timedelta(seconds=30)


class Calls:
    """Jobs that count their runs per day (and can be made to fail, or to wait)."""

    def __init__(self):
        self.days: list[tuple[str, date]] = []
        self.failing: set[str] = set()
        self.gate: asyncio.Event | None = None
        self.at_gate = asyncio.Event()          # a job is waiting at the gate

    def job(self, name: str, at: time = time(9, 0)) -> Job:
        async def body(ctx: JobContext) -> str:
            if self.gate is not None:
                self.at_gate.set()
                await self.gate.wait()
            if name in self.failing:
                raise ConnectionError("the job's dependency is away")
            self.days.append((name, ctx.day))
            return f"{name} ran for {ctx.day.isoformat()}"
        return Job(name, at, body, f"counts {name}")


@pytest.fixture
def services(redis, clock):
    clock.set(datetime(2026, 3, 10, 9, 5, tzinfo=MALL_TZ))
    return build_services(redis, clock, KEY, LogSmsSender())


@pytest.fixture
def calls():
    return Calls()


def scheduler(services, calls: Calls, holder: str, *names: str) -> Scheduler:
    jobs = {name: calls.job(name) for name in names or ("greet",)}
    return Scheduler(JobRunner(schedule_for(services, LEASE), jobs, services, holder))


async def test_of_two_schedulers_one_leads_and_a_day_runs_once(services, calls):
    a, b = scheduler(services, calls, "a"), scheduler(services, calls, "b")
    assert await a.keep_the_lease() and not await b.keep_the_lease()
    assert (a.lease.leader, b.lease.leader, b.lease.holder) == (True, False, "a")
    await asyncio.gather(a.run_everything_owed(), b.run_everything_owed(), a.run_everything_owed())
    assert calls.days == [("greet", date(2026, 3, 10))]
    services.clock.advance(minutes=10)
    assert not await a.keep_the_lease() and a.lease.leader      # renewed, same token
    assert await a.run_everything_owed() == [] and len(calls.days) == 1


async def test_when_the_leader_dies_another_takes_over_within_the_lease_with_a_higher_token(services, calls):
    a, b = scheduler(services, calls, "a"), scheduler(services, calls, "b")
    await a.keep_the_lease()
    first = a.lease.token
    services.clock.advance(LEASE - timedelta(seconds=1))        # a stops renewing (killed)
    assert not await b.keep_the_lease()
    services.clock.advance(seconds=2)
    assert await b.keep_the_lease() and b.lease.token > first
    assert [o.ran for o in await b.run_everything_owed()] == [True]
    assert await a.run_everything_owed() == []                   # the day is done
    stale = await a.runner.run_day("greet", date(2026, 3, 9), a.lease.token)
    assert (stale.ran, stale.status) == (False, "not_leader")    # fenced: a's token is no longer the lease's
    assert calls.days == [("greet", date(2026, 3, 10))]


async def test_a_run_whose_leader_died_mid_way_is_taken_over_by_the_next_leader(services, calls):
    a, b = scheduler(services, calls, "a"), scheduler(services, calls, "b")
    await a.keep_the_lease()
    calls.gate = asyncio.Event()
    stuck = asyncio.create_task(a.run_everything_owed())        # a claims the day, then hangs (or dies)
    await calls.at_gate.wait()
    services.clock.advance(LEASE + timedelta(seconds=1))
    await b.keep_the_lease()
    calls.gate.set()
    taken = await b.run_everything_owed()
    assert [(o.ran, o.status) for o in taken] == [(True, "done")]
    await stuck                                                   # a finishes late: its outcome is not recorded
    last = (await b.runner.last_runs())["greet"]
    assert (last.holder, last.status) == ("b", "done")


async def test_a_leader_that_lost_its_lease_mid_run_is_fenced_off_even_when_it_finishes_first(services, calls):
    a, b = scheduler(services, calls, "a"), scheduler(services, calls, "b")
    await a.keep_the_lease()
    calls.gate = asyncio.Event()
    stuck = asyncio.create_task(a.run_everything_owed())
    await calls.at_gate.wait()
    services.clock.advance(LEASE + timedelta(seconds=1))
    await b.keep_the_lease()
    calls.gate.set()
    await stuck                                                   # a ends before b looks: still not recorded
    assert (await b.runner.last_runs()).get("greet") is None
    taken = await b.run_everything_owed()
    assert [(o.ran, o.status) for o in taken] == [(True, "done")]
    last = (await b.runner.last_runs())["greet"]
    assert (last.holder, last.status) == ("b", "done")


async def test_a_job_still_running_under_the_live_leader_is_left_to_it(services, calls):
    a = scheduler(services, calls, "a")
    await a.keep_the_lease()
    calls.gate = asyncio.Event()
    first = asyncio.create_task(a.run_owed("greet"))
    await asyncio.sleep(0.05)
    again = await a.runner.run_day("greet", date(2026, 3, 10))   # by hand, while the leader runs it
    assert (again.ran, again.status) == (False, "running")
    calls.gate.set()
    await first
    assert len(calls.days) == 1


async def test_days_missed_while_no_scheduler_ran_are_caught_up_in_order_and_bounded(services, calls):
    a = scheduler(services, calls, "a", "greet", "expire")
    await a.keep_the_lease()
    await a.run_everything_owed()
    await a.stop()                                                # then nobody runs for 3 days
    services.clock.advance(days=3)
    b = scheduler(services, calls, "b", "greet", "expire")
    await b.keep_the_lease()
    await b.run_everything_owed()
    days = [day for name, day in calls.days if name == "greet"]
    assert days == [date(2026, 3, n) for n in (10, 11, 12, 13)]
    services.clock.advance(days=30)
    await b.keep_the_lease()
    await b.run_everything_owed()
    assert len([d for n, d in calls.days if n == "greet"]) == 4 + 7   # at most 7 days back


async def test_a_failed_run_is_tried_again_and_a_run_by_hand_is_done_once(services, calls):
    a = scheduler(services, calls, "a")
    await a.keep_the_lease()
    calls.failing.add("greet")
    [failed] = await a.run_everything_owed()
    assert (failed.status, failed.summary) == ("failed", "ConnectionError")
    calls.failing.clear()
    [retried] = await a.run_everything_owed()
    assert retried.status == "done"
    by_hand = await a.runner.run_day("greet", date(2026, 3, 10))
    assert (by_hand.ran, by_hand.status) == (False, "done")
    assert "already done" in by_hand.line()
    assert calls.days == [("greet", date(2026, 3, 10))]


async def test_the_job_list_shows_the_next_and_the_last_run(services, calls):
    a = scheduler(services, calls, "a", "greet")
    await a.keep_the_lease()
    await a.run_everything_owed()
    listing = await job_list(a.runner)
    assert "leader: a" in listing
    assert "greet                2026-03-11 09:00 2026-03-10 done: greet ran for 2026-03-10" in listing
