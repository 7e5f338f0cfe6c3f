"""Mass-send batches: who went out in which batch, under which clientmsgid, and what the platform reported.

A batch is written before its members are included and before the call, so a sender that dies mid-call
leaves what a retry needs: the same openids, the same content, the same clientmsgid (the platform sends a
clientmsgid once within 24 hours and answers 45065 with the first send's msg_id to a repeat).
`MASSSENDJOBFINISH` reconciles the platform's counts against the batch: TotalCount is the openids we sent,
FilterCount those left after its filtering (members over their 4 mass messages a month among them) —
fewer than we sent means our monthly counts missed messages (e.g. a send from the WeChat admin page).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..channels import JobReport

log = logging.getLogger("loyalty_core.mass_batches")

BATCH_TTL_SECONDS = 30 * 86400


@dataclass(frozen=True)
class MassBatch:
    batch_id: str
    topic: str
    clientmsgid: str
    content: dict
    members: tuple[tuple[str, str, str], ...] = ()     # (member_id, push_id, openid)
    msg_id: str = ""

    @property
    def openids(self) -> list[str]:
        return [openid for _, _, openid in self.members]


class RedisMassBatches:
    def __init__(self, redis: Redis):
        self._redis = redis

    async def new_batch(self, topic: str, content: dict) -> MassBatch:
        batch_id = str(await self._redis.incr(keys.PUSH_MASS_SEQ))
        clientmsgid = hashlib.sha1(f"{topic}|{batch_id}".encode()).hexdigest()[:32]
        key = keys.push_mass_batch(batch_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping={"topic": topic, "clientmsgid": clientmsgid, "content": orjson.dumps(content)})
            pipe.expire(key, BATCH_TTL_SECONDS)
            await pipe.execute()
        return MassBatch(batch_id, topic, clientmsgid, content)

    async def set_members(self, batch: MassBatch, members: list[tuple[str, str, str]]) -> MassBatch:
        await self._redis.hset(keys.push_mass_batch(batch.batch_id), "members", orjson.dumps(members))
        return MassBatch(batch.batch_id, batch.topic, batch.clientmsgid, batch.content, tuple(members))

    async def batch(self, batch_id: str) -> MassBatch | None:
        raw = await self._redis.hgetall(keys.push_mass_batch(batch_id))
        if not raw:
            return None
        return MassBatch(batch_id, raw["topic"], raw["clientmsgid"], orjson.loads(raw["content"]),
                         tuple(tuple(m) for m in orjson.loads(raw.get("members") or "[]")), raw.get("msg_id", ""))

    async def sent(self, batch: MassBatch, msg_id: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys.push_mass_batch(batch.batch_id), "msg_id", msg_id)
            pipe.set(keys.push_mass_job(str(msg_id)), batch.batch_id, ex=BATCH_TTL_SECONDS)
            await pipe.execute()

    async def reconcile(self, report: JobReport, now: datetime) -> None:
        """The platform's job report against the batch it is about (reports of sends made elsewhere are left)."""
        batch_id = await self._redis.get(keys.push_mass_job(report.msg_id))
        if batch_id is None:
            return
        batch = await self.batch(batch_id)
        included = len(batch.members) if batch else 0
        filtered_out = max(0, report.total - report.filtered)
        await self._redis.hset(keys.push_mass_batch(batch_id), mapping={
            "report_status": report.status, "report_total": report.total, "report_prepared": report.filtered,
            "report_sent": report.sent, "report_errors": report.errors, "filtered_out": filtered_out,
            "reported_at": now.isoformat()})
        if filtered_out or report.total != included:
            log.warning("mass batch %s: %d included, the platform counted %d and filtered out %d (our monthly "
                        "counts missed some mass messages)", batch_id, included, report.total, filtered_out)
