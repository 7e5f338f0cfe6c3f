"""`python -m bot scheduler`: APScheduler's AsyncIOScheduler (Asia/Shanghai) fires each job at its time of day;
a process acts only while it holds the leader lease, renewed a few times per lease; on taking the lead, and
every few minutes, it runs what the jobs still owe (today's runs that have not happened, days missed while no
scheduler ran, runs that failed). No job store: the jobs are rebuilt from the timetable at every start."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from loyalty_core.clock import MALL_TZ
from loyalty_core.redis_store.schedule import RedisScheduleStore
from loyalty_core.schedule import Lease, Schedule

from .jobs import FREQUENT, job_table
from .runner import Job, JobRunner, Outcome

log = logging.getLogger("bot.scheduler")
CAMPAIGNS_EVERY = timedelta(minutes=1)
CATCH_UP_EVERY = timedelta(minutes=5)


def holder_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def schedule_for(services, lease_ttl: timedelta = timedelta(seconds=30), max_catch_up: int = 7) -> Schedule:
    return Schedule(RedisScheduleStore(services.redis, services.scripts), services.clock, lease_ttl, max_catch_up)


def runner_for(services, lease_ttl: timedelta) -> JobRunner:
    """The program's jobs at its timetable's times, run by this process."""
    program = services.program
    return JobRunner(schedule_for(services, lease_ttl, program.schedule.catch_up_days), job_table(program), services,
                     holder_name())


class Scheduler:
    """One scheduler process: its lease and its APScheduler."""

    def __init__(self, runner: JobRunner):
        self.runner = runner
        self.schedule = runner.schedule
        self.lease = Lease(False, "", 0, None)
        self._aps = AsyncIOScheduler(timezone=MALL_TZ)

    @property
    def jobs(self) -> dict[str, Job]:
        return self.runner.jobs

    async def keep_the_lease(self) -> bool:
        """Take or renew the lease; True when this process has just become the leader."""
        was_leader = self.lease.leader
        self.lease = await self.schedule.lead(self.runner.holder)
        if self.lease.leader and not was_leader:
            log.info("scheduler %s leads (fencing token %d)", self.runner.holder, self.lease.token)
            return True
        if was_leader and not self.lease.leader:
            log.warning("scheduler %s lost the lead", self.runner.holder)
        return False

    async def run_owed(self, name: str) -> list[Outcome]:
        if not self.lease.leader:
            return []
        return await self.runner.run_owed(name, self.lease.token)

    async def run_frequent(self, name: str) -> str | None:
        return await self.runner.run_again(name) if self.lease.leader else None

    async def run_everything_owed(self) -> list[Outcome]:
        return [outcome for name in self.jobs for outcome in await self.run_owed(name)]

    async def send_due_campaigns(self) -> None:
        """Campaigns are due at any minute (send_at, a recurring one's timetable), not once a day."""
        if self.lease.leader:
            try:
                await self.runner.services.builtin_campaigns.ensure()
                await self.runner.services.campaigns.send_due()
            except Exception as error:  # noqa: BLE001 - tried again next minute; each send resumes where it stopped
                log.warning("campaigns due not sent (%s)", type(error).__name__)

    def start(self) -> None:
        for job in self.jobs.values():
            self._aps.add_job(self.run_owed, CronTrigger(hour=job.at.hour, minute=job.at.minute, timezone=MALL_TZ),
                              args=[job.name], id=job.name, coalesce=True, max_instances=1,
                              misfire_grace_time=int(timedelta(hours=12).total_seconds()))
        self._aps.add_job(self.run_everything_owed, IntervalTrigger(seconds=CATCH_UP_EVERY.total_seconds()),
                          id="catch-up", coalesce=True, max_instances=1)
        every = self.runner.services.program.events.every.total_seconds()
        for name in (name for name in FREQUENT if name in self.jobs):
            self._aps.add_job(self.run_frequent, IntervalTrigger(seconds=every), args=[name], id=f"{name}-frequent",
                              coalesce=True, max_instances=1)
        self._aps.add_job(self.send_due_campaigns, IntervalTrigger(seconds=CAMPAIGNS_EVERY.total_seconds()),
                          id="campaigns-due", coalesce=True, max_instances=1)
        self._aps.start()

    async def stop(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
        await self.schedule.step_down(self.lease)
        self.lease = Lease(False, "", 0, None)

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: keep the lease (renewed three times per lease) while APScheduler fires the jobs; a new
        leader catches up at once (in APScheduler's task, so that a long run never holds back a renewal)."""
        self.start()
        log.info("scheduler %s started with %d jobs", self.runner.holder, len(self.jobs))
        renew_every = self.schedule.lease_ttl.total_seconds() / 3
        try:
            while not stop.is_set():
                try:
                    if await self.keep_the_lease():
                        self._aps.get_job("catch-up").modify(next_run_time=datetime.now(MALL_TZ))
                except Exception as error:  # noqa: BLE001 - Redis away: try again; the lease lapses meanwhile
                    log.warning("scheduler lease not renewed (%s)", type(error).__name__)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=renew_every)
        finally:
            await self.stop()
