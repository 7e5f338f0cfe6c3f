"""What the platform tells us about delivery channels: subscribe-message consents (one consent = one
send) and the results of mass and template send jobs. The push side reads both; a mass job's report is
also reconciled against the batch the push side sent (through the MassReports port)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class JobReport:
    msg_id: str
    event: str          # masssendjobfinish | templatesendjobfinish
    status: str         # "send success", "send fail", "err(N)", "success", "failed:user block", …
    total: int = 0      # TotalCount: the openids (or the tag's followers) the send was for
    filtered: int = 0   # FilterCount: those left to send to after the platform's filtering (members over their
    sent: int = 0       #   4 mass messages a month are filtered out); about SentCount + ErrorCount
    errors: int = 0


class ChannelStore(Protocol):
    async def record_consents(self, member_id: str, template_ids: list[str], op_key: str) -> None:
        """Add one send per accepted template, once per op_key (a retried callback adds nothing)."""
    async def consents_left(self, member_id: str, template_id: str) -> int: ...
    async def use_consent(self, member_id: str, template_id: str, send_key: str) -> bool:
        """Take one send, once per send_key; False when none was left."""
    async def record_job(self, report: JobReport, now: datetime) -> None: ...
    async def job(self, msg_id: str) -> JobReport | None: ...


class MassReports(Protocol):
    async def reconcile(self, report: JobReport, now: datetime) -> None:
        """Compare a mass job's report with the batch we sent."""


class ChannelFacts:
    def __init__(self, store: ChannelStore, *mass_reports: MassReports):
        self._store = store
        self._mass_reports = mass_reports           # each told of every mass job's report

    async def record_consents(self, member_id: str, accepted_templates: list[str], op_key: str) -> None:
        if accepted_templates:
            await self._store.record_consents(member_id, accepted_templates, op_key)

    async def consents_left(self, member_id: str, template_id: str) -> int:
        return await self._store.consents_left(member_id, template_id)

    async def use_consent(self, member_id: str, template_id: str, send_key: str) -> bool:
        """True if a consent was available and is now used by this send (idempotent by send_key)."""
        return await self._store.use_consent(member_id, template_id, send_key)

    async def record_job(self, report: JobReport, now: datetime) -> None:
        await self._store.record_job(report, now)
        if report.event == "masssendjobfinish":
            for reports in self._mass_reports:
                await reports.reconcile(report, now)

    async def job(self, msg_id: str) -> JobReport | None:
        return await self._store.job(msg_id)
