"""Manager broadcasts in Redis: each broadcast's facts and job reports in its own slot (`{bc:<id>}`), the
manager's daily count, latest broadcasts and the confirmed broadcast's domain event in the manager's slot (its
outbox, relayed to the stream the broadcast consumer reads), the audit log a capped stream of its own."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..broadcasts import Audience
from ..channels import JobReport
from ..clock import epoch_ms
from .outbox import Outbox
from .scripts import Scripts

DAY_TTL_SECONDS = 2 * 86400
AUDIT_LENGTH = 100_000
LOG_LENGTH = 20                  # a manager's latest broadcasts kept for 广播记录
COMMUNITY_LOG_LENGTH = 200       # a community's latest broadcasts kept for the console


class RedisBroadcastStore:
    def __init__(self, redis: Redis, scripts: Scripts, outbox: Outbox | None = None):
        self._redis = redis
        self._scripts = scripts
        self._outbox = outbox or Outbox(redis, scripts)

    async def sent_today(self, manager_id: str, day: str) -> int:
        return await self._redis.scard(keys.member_broadcasts(manager_id, day))

    async def claim(self, manager_id: str, broadcast_id: str, day: str, limit: int, now: datetime,
                    facts: dict) -> bool:
        await self._outbox.mark(manager_id, now)
        result = await self._scripts.run_or_refuse(
            "broadcast_claim", [keys.member_broadcasts(manager_id, day), keys.member_outbox(manager_id),
                                keys.member_broadcast_log(manager_id)],
            [broadcast_id, limit, DAY_TTL_SECONDS, manager_id, now.isoformat(), epoch_ms(now),
             orjson.dumps(facts).decode(), LOG_LENGTH])
        await self._outbox.relay(manager_id)
        return not result["replayed"]

    async def latest(self, manager_id: str, count: int) -> list[str]:
        return await self._redis.zrevrange(keys.member_broadcast_log(manager_id), 0, count - 1)

    async def file_in_community(self, community_id: str, broadcast_id: str, confirmed_at: datetime) -> None:
        await self._scripts.run("broadcast_file", [keys.community_broadcasts(community_id)],
                                [broadcast_id, epoch_ms(confirmed_at), COMMUNITY_LOG_LENGTH])

    async def in_community(self, community_id: str, count: int) -> list[str]:
        return await self._redis.zrevrange(keys.community_broadcasts(community_id), 0, count - 1)

    async def record(self, broadcast_id: str, fields: dict) -> bool:
        return not (await self._scripts.run("broadcast_record", [keys.broadcast(broadcast_id)], _flat(fields)))["replayed"]

    async def finish(self, broadcast_id: str, audience: Audience, at: datetime) -> None:
        planned = {f"planned_{name}": count for name, count in audience.to_dict().items()}
        await self._scripts.run("broadcast_finish", [keys.broadcast(broadcast_id)],
                                _flat(planned | {"sent_at": at.isoformat()}))

    async def audit(self, broadcast_id: str, action: str, manager_id: str, at: datetime, **details) -> None:
        entry = {"broadcast_id": broadcast_id, "action": action, "manager_id": manager_id, "at": at.isoformat()}
        await self._redis.xadd(keys.BROADCAST_AUDIT, entry | {k: str(v) for k, v in details.items()},
                               maxlen=AUDIT_LENGTH, approximate=True)

    async def get(self, broadcast_id: str) -> dict:
        return await self._redis.hgetall(keys.broadcast(broadcast_id))

    async def reports(self, broadcast_id: str) -> list[dict]:
        return [orjson.loads(raw) for raw in (await self._redis.hgetall(keys.broadcast_reports(broadcast_id))).values()]

    async def audit_log(self, count: int = 100) -> list[dict]:
        return [fields for _, fields in await self._redis.xrevrange(keys.BROADCAST_AUDIT, count=count)]

    # -- the platform's mass-send job reports (a MassReports of loyalty_core/channels.py) ----------------------
    async def reconcile(self, report: JobReport, now: datetime) -> None:
        """A report of a mass batch that carried a broadcast is recorded against the broadcast."""
        batch_id = await self._redis.get(keys.push_mass_job(report.msg_id))
        topic = await self._redis.hget(keys.push_mass_batch(batch_id), "topic") if batch_id else None
        if not topic or not topic.startswith("broadcast:"):
            return
        counts = {"msg_id": report.msg_id, "batch_id": batch_id, "status": report.status, "total": report.total,
                  "filtered": report.filtered, "sent": report.sent, "errors": report.errors, "at": now.isoformat()}
        await self._scripts.run("broadcast_report", [keys.broadcast_reports(topic.split(":", 1)[1])],
                                [report.msg_id, orjson.dumps(counts).decode()])


def _flat(fields: dict) -> list:
    return [part for name, value in fields.items() for part in (name, value)]
