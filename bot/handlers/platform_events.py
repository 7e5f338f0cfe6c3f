"""Reports the platform sends about our pushes: subscribe consents and mass/template job results."""
from __future__ import annotations

from loyalty_core.channels import JobReport

from ..context import Ctx
from ..inbound import Inbound
from ..router import Router

router = Router("platform events")


@router.event("subscribe_msg_popup_event")
async def on_consent(ctx: Ctx):
    accepted = [group.get("TemplateId", "") for group in ctx.message.groups("SubscribeMsgPopupEvent")
                if group.get("SubscribeStatusString") == "accept"]
    await ctx.services.channels.record_consents(ctx.member, [t for t in accepted if t], ctx.message.delivery_key)
    return None


@router.event("masssendjobfinish", "templatesendjobfinish")
async def on_job_report(ctx: Ctx):
    await ctx.services.channels.record_job(job_report(ctx.message), ctx.now)
    return None


def job_report(message: Inbound) -> JobReport:
    fields = message.fields
    return JobReport(msg_id=str(fields.get("MsgID", "")), event=message.event, status=str(fields.get("Status", "")),
                     total=_count(fields, "TotalCount"), filtered=_count(fields, "FilterCount"),
                     sent=_count(fields, "SentCount"), errors=_count(fields, "ErrorCount"))


def _count(fields: dict, name: str) -> int:
    value = fields.get(name, "")
    return int(value) if isinstance(value, str) and value.isdecimal() else 0
