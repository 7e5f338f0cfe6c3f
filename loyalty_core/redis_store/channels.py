"""Consents and send-job reports in Redis: consents in the member's slot, one hash per reported job."""
from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from .. import keys
from ..channels import JobReport
from .scripts import Scripts

OP_TTL_SECONDS = 7 * 86400


class RedisChannelStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def record_consents(self, member_id: str, template_ids: list[str], op_key: str) -> None:
        await self._scripts.run(
            "consent_record", [keys.member_consents(member_id), keys.member_op(member_id, op_key)],
            [OP_TTL_SECONDS, *template_ids])

    async def consents_left(self, member_id: str, template_id: str) -> int:
        return int(await self._redis.hget(keys.member_consents(member_id), template_id) or 0)

    async def use_consent(self, member_id: str, template_id: str, send_key: str) -> bool:
        result = await self._scripts.run(
            "consent_consume", [keys.member_consents(member_id), keys.member_op(member_id, f"consent:{send_key}")],
            [OP_TTL_SECONDS, template_id])
        return result["ok"]

    async def record_job(self, report: JobReport, now: datetime) -> None:
        await self._redis.hset(keys.push_job(report.msg_id), mapping={
            "event": report.event, "status": report.status, "total": report.total, "filtered": report.filtered,
            "sent": report.sent, "errors": report.errors, "reported_at": now.isoformat()})

    async def job(self, msg_id: str) -> JobReport | None:
        raw = await self._redis.hgetall(keys.push_job(msg_id))
        if not raw:
            return None
        return JobReport(msg_id=msg_id, event=raw["event"], status=raw["status"], total=int(raw["total"]),
                         filtered=int(raw["filtered"]), sent=int(raw["sent"]), errors=int(raw["errors"]))
