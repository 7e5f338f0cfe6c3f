"""What the platform tells us about delivery channels: subscribe-message consents (one consent = one
send) and the results of mass and template send jobs. The push side reads both."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from . import keys
from .redis_store.scripts import Scripts

OP_TTL_SECONDS = 7 * 86400


@dataclass(frozen=True)
class JobReport:
    msg_id: str
    event: str          # masssendjobfinish | templatesendjobfinish
    status: str         # "send success", "send fail", "err(N)", "success", "failed:user block", …
    total: int = 0
    filtered: int = 0   # members over their monthly mass quota (or otherwise filtered)
    sent: int = 0
    errors: int = 0


class ChannelFacts:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def record_consents(self, member_id: str, accepted_templates: list[str], op_key: str) -> None:
        if accepted_templates:
            await self._scripts.run(
                "consent_record", [keys.member_consents(member_id), keys.member_op(member_id, op_key)],
                [OP_TTL_SECONDS, *accepted_templates])

    async def consents_left(self, member_id: str, template_id: str) -> int:
        return int(await self._redis.hget(keys.member_consents(member_id), template_id) or 0)

    async def use_consent(self, member_id: str, template_id: str, send_key: str) -> bool:
        """True if a consent was available and is now used by this send (idempotent by send_key)."""
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
