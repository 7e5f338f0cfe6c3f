"""The scheduler's lease and its runs in Redis, all under the `{sched}` hash tag: one slot, so that the claim of
a run checks the lease in the same script."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms, from_epoch_ms
from ..schedule import Claim, Lease, RunRecord
from .scripts import Scripts

RUN_TIME_LIMIT = timedelta(hours=1)      # a run by hand that has not finished after this is taken to have died
RUN_KEPT_SECONDS = 400 * 86400


def _day(day: date) -> str:
    return day.strftime("%Y%m%d")


def _lease(result: dict) -> Lease:
    expires = result.get("expires_ms")
    return Lease(leader=bool(result["leader"]), holder=result.get("holder") or "", token=int(result.get("token") or 0),
                 expires_at=from_epoch_ms(expires) if expires else None)


class RedisScheduleStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def take_lease(self, holder: str, now: datetime, ttl: timedelta) -> Lease:
        return _lease(await self._scripts.run("sched_lease", [keys.SCHEDULER_LEASE],
                                              [holder, epoch_ms(now), int(ttl.total_seconds() * 1000)]))

    async def give_up_lease(self, holder: str, token: int) -> None:
        await self._scripts.run("sched_release", [keys.SCHEDULER_LEASE], [holder, token])

    async def lease(self, now: datetime) -> Lease:
        holder, token, expires = await self._redis.hmget(keys.SCHEDULER_LEASE, "holder", "token", "expires_ms")
        live = bool(holder) and int(expires or 0) > epoch_ms(now)
        return Lease(leader=False, holder=holder if live else "", token=int(token or 0),
                     expires_at=from_epoch_ms(expires) if live else None)

    async def claim_run(self, job: str, day: date, holder: str, token: int | None, now: datetime) -> Claim:
        result = await self._scripts.run(
            "sched_claim", [keys.SCHEDULER_LEASE, keys.scheduler_run(job, _day(day))],
            [holder, epoch_ms(now), now.isoformat(), "" if token is None else token,
             int(RUN_TIME_LIMIT.total_seconds() * 1000), RUN_KEPT_SECONDS])
        if not result["ok"]:            # not_leader: the lease moved on
            return Claim(False)
        if result["granted"]:
            return Claim(True)
        return Claim(False, _record(job, day, result["record"]))

    async def finish_run(self, job: str, day: date, holder: str, status: str, summary: str, now: datetime) -> bool:
        result = await self._scripts.run(
            "sched_finish", [keys.scheduler_run(job, _day(day)), keys.scheduler_last(job), keys.SCHEDULER_LEASE],
            [holder, status, summary, now.isoformat(), _day(day), epoch_ms(now)])
        return result["recorded"]

    async def last_done(self, job: str) -> date | None:
        done = await self._redis.hget(keys.scheduler_last(job), "done_day")
        return datetime.strptime(done, "%Y%m%d").date() if done else None

    async def last_run(self, job: str) -> RunRecord | None:
        raw = await self._redis.hgetall(keys.scheduler_last(job))
        if not raw:
            return None
        return _record(job, datetime.strptime(raw["day"], "%Y%m%d").date(), raw)


def _record(job: str, day: date, raw: dict) -> RunRecord:
    return RunRecord(job=job, day=day, status=raw.get("status") or "", summary=raw.get("summary") or "",
                     at=datetime.fromisoformat(raw["at"]) if raw.get("at") else None, holder=raw.get("holder") or "")
