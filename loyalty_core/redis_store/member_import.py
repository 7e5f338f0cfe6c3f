"""A member import in Redis, a batch of rows at a time: the index lookups in one pipeline, the index claims
(SET NX) in one, the member numbers in one INCRBY, one `member_import` script per row (each in its member's
slot) in one pipeline, then the birthday index entries."""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

import orjson
from redis.asyncio import Redis

from .. import keys
from ..member_import import IndexClaim, MemberWrite, WriteOutcome
from .batching import pipelined
from .members import FIRST_MEMBER_NUMBER
from .scripts import Scripts


def _index_key(claim: IndexClaim) -> str:
    return keys.phone_index(claim.value) if claim.kind == "phone" else keys.openid_index(claim.value)


class RedisImportStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def members_by_phone(self, phone_hashes: Sequence[str]) -> list[str | None]:
        return await pipelined(self._redis, [("GET", keys.phone_index(h)) for h in phone_hashes])

    async def members_by_openid(self, openids: Sequence[str]) -> list[str | None]:
        return await pipelined(self._redis, [("GET", keys.openid_index(o)) for o in openids])

    async def new_member_ids(self, count: int) -> list[str]:
        """`count` numbers from the followers' own sequence."""
        last = await self._redis.incrby(keys.MEMBER_SEQ, count)
        return [str(FIRST_MEMBER_NUMBER + n) for n in range(last - count + 1, last + 1)]

    async def claim(self, claims: Sequence[IndexClaim]) -> list[bool]:
        """Point each index entry at its member unless it is taken; True where it now names that member."""
        taken = await pipelined(self._redis, [("SET", _index_key(c), c.member_id, "NX") for c in claims])
        holders = await pipelined(self._redis, [("GET", _index_key(c)) for c, ok in zip(claims, taken) if not ok])
        held = iter(holders)
        return [bool(ok) or next(held) == c.member_id for c, ok in zip(claims, taken)]

    async def release(self, claims: Sequence[IndexClaim]) -> None:
        await self._scripts.run_many("index_release", [([_index_key(c)], [c.member_id]) for c in claims])

    async def write(self, writes: Sequence[MemberWrite], source: str, now: datetime) -> list[WriteOutcome]:
        results = await self._scripts.run_many("member_import", [
            ([keys.member_profile(w.member_id), keys.member_birthday(w.member_id)],
             [w.member_id, now.isoformat(), source, orjson.dumps(w.fields), w.birthday_enc, w.birthday_label])
            for w in writes])
        return [WriteOutcome(outcome=r["outcome"], phone_kept=r["phone_kept"], birthday_label=r["birthday_label"])
                if r["ok"] else WriteOutcome(outcome=r["error"]) for r in results]

    async def file_birthdays(self, entries: Sequence[tuple[str, str]]) -> None:
        """(label hash, member_id): the month-day index the birthday greetings read (a set: filing again is a no-op)."""
        await pipelined(self._redis, [("SADD", keys.birthday_index(label), member_id) for label, member_id in entries])


JOB_TTL_SECONDS = 30 * 86400
JOBS_KEPT = 100


class RedisImportJobs:
    """The console's import jobs: a hash each, the rejected rows' report beside it, the latest in a zset."""

    def __init__(self, redis: Redis):
        self._redis = redis

    async def save(self, job_id: str, fields: dict, started_ms: int | None = None) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.import_job(job_id), mapping=fields)
            pipe.expire(keys.import_job(job_id), JOB_TTL_SECONDS)
            if started_ms is not None:
                pipe.zadd(keys.IMPORT_JOBS, {job_id: started_ms})
                pipe.zremrangebyrank(keys.IMPORT_JOBS, 0, -JOBS_KEPT - 1)
            await pipe.execute()

    async def load(self, job_id: str) -> dict | None:
        return await self._redis.hgetall(keys.import_job(job_id)) or None

    async def latest(self, count: int) -> list[str]:
        return await self._redis.zrevrange(keys.IMPORT_JOBS, 0, count - 1)

    async def save_report(self, job_id: str, report: bytes) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.import_report(job_id), report, ex=JOB_TTL_SECONDS)
            pipe.hset(keys.import_job(job_id), "has_report", "1")
            await pipe.execute()

    async def report(self, job_id: str) -> bytes | None:
        raw = await self._redis.get(keys.import_report(job_id))
        return raw.encode("utf-8") if isinstance(raw, str) else raw
