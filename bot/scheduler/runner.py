"""Runs the scheduler's jobs: each once per (job, day), claimed under the leader's fencing token (or by hand),
with its outcome recorded for `python -m bot scheduler list`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Awaitable, Callable

from loyalty_core.schedule import RunRecord, Schedule

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger("bot.scheduler")


@dataclass(frozen=True)
class JobContext:
    services: "Services"
    day: date                 # the day the run is for
    now: datetime             # when it runs (a day caught up runs later than its day)


@dataclass(frozen=True)
class Job:
    name: str
    at: time                  # mall time, daily
    body: Callable[[JobContext], Awaitable[str]]   # returns a one-line summary; idempotent by natural keys
    about: str


@dataclass(frozen=True)
class Outcome:
    job: str
    day: date
    ran: bool                 # False: done before, or running elsewhere now
    status: str               # done | failed | running (elsewhere) | not_leader
    summary: str = ""

    def line(self) -> str:
        if self.ran:
            return f"{self.job} {self.day.isoformat()}: {self.status}: {self.summary}"
        if self.status == "done":
            return f"{self.job} {self.day.isoformat()}: already done: {self.summary}"
        return f"{self.job} {self.day.isoformat()}: {self.status}, not run here"


class JobRunner:
    def __init__(self, schedule: Schedule, jobs: dict[str, Job], services: "Services", holder: str):
        self.schedule = schedule
        self.jobs = jobs
        self.services = services
        self.holder = holder

    async def run_owed(self, name: str, token: int) -> list[Outcome]:
        """The days the job still owes (today once its time has come, and missed days), as the leader."""
        job = self.jobs[name]
        return [await self.run_day(name, day, token) for day in await self.schedule.owed(name, job.at)]

    async def run_day(self, name: str, day: date, token: int | None = None) -> Outcome:
        """Run the job for the day once: a second call finds it done. `token`: the leader's; None runs it by hand."""
        job = self.jobs[name]
        claim = await self.schedule.claim(name, day, self.holder, token)
        if not claim.granted:
            record = claim.record
            return Outcome(name, day, False, record.status if record else "not_leader", record.summary if record else "")
        try:
            summary = await job.body(JobContext(self.services, day, self.services.clock.now()))
        except Exception as error:  # noqa: BLE001 - recorded, retried by the next run of the day or by hand
            log.exception("job %s for %s failed", name, day.isoformat())
            await self.schedule.finish(name, day, self.holder, "failed", type(error).__name__)
            return Outcome(name, day, True, "failed", type(error).__name__)
        await self.schedule.finish(name, day, self.holder, "done", summary)
        log.info("job %s for %s: %s", name, day.isoformat(), summary)
        return Outcome(name, day, True, "done", summary)

    async def run_again(self, name: str) -> str:
        """Run a job whose effects are idempotent once more, outside the day's claim (the leader's frequent runs);
        a failure is logged and left to the next run."""
        now = self.services.clock.now()
        try:
            return await self.jobs[name].body(JobContext(self.services, now.date(), now))
        except Exception:  # noqa: BLE001 - the next run tries again
            log.exception("frequent run of job %s failed", name)
            return "failed"

    async def last_runs(self) -> dict[str, RunRecord | None]:
        return {name: await self.schedule.last_run(name) for name in self.jobs}
