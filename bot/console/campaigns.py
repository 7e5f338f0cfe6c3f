"""/console/campaigns: the campaigns, the editor with the segment's live count and the message as sample members
would read it, schedule (create) and cancel, and each campaign's results per variant with the verdict — through
the campaign, segment and results services that the admin API uses."""
from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation

from aiohttp import web

from loyalty_core import errors
from loyalty_core.clock import MALL_TZ
from loyalty_core.console import checked_reason
from loyalty_core.console_access import Permission

from ..app_keys import SERVICES
from .forms import form_text
from .guard import needs, session_of
from .render import ENVIRONMENT, page
from .segment_terms import LABELS, vocabulary_of

routes = web.RouteTableDef()
SAMPLES_SHOWN = 3
VARIANTS = ("A", "B")
LIST_FIELDS = ("tiers", "lifecycle", "spend_level", "communities")
CHOICE_FIELDS = ("preferred_category", "holds_coupon_template", "lacks_coupon_template")
NUMBER_FIELDS = ("spend_12m_min", "spend_12m_max", "purchases_12m_min", "balance_min", "balance_max",
                 "days_since_purchase_min", "days_since_purchase_max", "joined_within_days", "birthday_month")
WHOLE_FIELDS = set(NUMBER_FIELDS) - {"spend_12m_min", "spend_12m_max"}


@routes.get("/campaigns", name="campaigns")
@needs(Permission.CAMPAIGNS)
async def list_campaigns(request: web.Request) -> web.Response:
    campaigns = await request.config_dict[SERVICES].campaigns.listed()
    return page(request, "campaigns.html", campaigns=campaigns)


@routes.get("/campaigns/new", name="new_campaign")
@needs(Permission.CAMPAIGNS)
async def new_campaign(request: web.Request) -> web.Response:
    return await editor(request, {}, error="")


async def editor(request: web.Request, form, *, error: str, status: int = 200) -> web.Response:
    services = request.config_dict[SERVICES]
    value = lambda name, default="": form_text(form, name) if name in form else default  # noqa: E731
    chosen = lambda name: set(form.getall(name, [])) if hasattr(form, "getall") else set()  # noqa: E731
    return page(request, "campaign_edit.html", status=status, error=error, value=value, chosen=chosen,
                suggested_id=f"c{services.clock.now():%Y%m%d}-{secrets.token_hex(3)}",
                names=await vocabulary_of(services), labels=LABELS, templates=services.program.coupons.templates)


@routes.post("/campaigns/preview", name="campaign_preview")
@needs(Permission.CAMPAIGNS)
async def preview(request: web.Request) -> web.Response:
    """The editor's live part: the segment's count and each variant's text for sample members (an HTML part)."""
    services = request.config_dict[SERVICES]
    form = await request.post()
    context: dict = {"count": None, "variants": [], "error": "", "hint": ""}
    try:
        segment = await services.segments.checked(segment_of(form))
        found = await services.segments.preview(segment, services.facts.today())
        context["count"] = found.count
        if written(form):
            context["variants"] = await variant_previews(services, variants_of(form), found.sample[:SAMPLES_SHOWN])
        else:                               # a new campaign's editor, before its first text
            context["hint"] = "写下方案 A 的文案，即可看到会员收到的样子 · write variant A's text to see it as members will"
    except errors.DomainError as problem:
        context["error"] = problem.text
    html = ENVIRONMENT.get_template("campaign_preview.html").render(**context)
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-store"})


async def variant_previews(services, variants: list[tuple[str, str, str]],
                           sample: list[str]) -> list[tuple[str, list, str]]:
    """(name, texts for the sample members, problem) of each (name, text, coupon template)."""
    previews = []
    for name, text, coupon in variants:
        try:
            previews.append((name, await services.campaigns.preview_text(text, coupon, sample), ""))
        except errors.DomainError as problem:
            previews.append((name, [], problem.text))
    return previews


@routes.post("/campaigns", name="create_campaign")
@needs(Permission.CAMPAIGNS)
async def create_campaign(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    form = await request.post()
    try:
        body = campaign_body(form)
        answer, _ = await services.campaigns.create(body)
    except errors.DomainError as refused:
        return await editor(request, form, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "campaign.schedule", answer["campaign_id"],
                                  detail=f"send_at={answer['send_at']} segment={body['segment']}")
    raise web.HTTPSeeOther(request.app.router["campaign"].url_for(campaign_id=answer["campaign_id"])
                           .with_query(done=f"scheduled for {answer['send_at'][:16].replace('T', ' ')}"))


@routes.get("/campaigns/{campaign_id}", name="campaign")
@needs(Permission.CAMPAIGNS)
async def campaign_page(request: web.Request) -> web.Response:
    return await show_campaign(request, request.match_info["campaign_id"])


async def show_campaign(request: web.Request, campaign_id: str, *, error: str = "", status: int = 200):
    services = request.config_dict[SERVICES]
    stored, definition = await services.campaigns.stored(campaign_id)
    return page(request, "campaign.html", status=status, error=error, definition=definition, stored=stored,
                segment=(await vocabulary_of(services)).described(definition.segment.to_dict()),
                state=await services.campaigns.status(campaign_id),
                results=await services.campaign_results.results(campaign_id))


@routes.post("/campaigns/{campaign_id}/cancel", name="cancel_campaign")
@needs(Permission.CAMPAIGNS)
async def cancel_campaign(request: web.Request) -> web.Response:
    services, campaign_id = request.config_dict[SERVICES], request.match_info["campaign_id"]
    form = await request.post()
    try:
        reason = checked_reason(form_text(form, "reason"))
        await services.campaigns.cancel(campaign_id)
    except errors.DomainError as refused:
        return await show_campaign(request, campaign_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "campaign.cancel", campaign_id, reason)
    raise web.HTTPSeeOther(request.app.router["campaign"].url_for(campaign_id=campaign_id)
                           .with_query(done="cancelled"))


# -- the form, as the campaign service's body ----------------------------------------------------------------
def campaign_body(form) -> dict:
    variants = variants_of(form)
    return {"campaign_id": form_text(form, "campaign_id"), "name": form_text(form, "name"), "kind": "marketing",
            "segment": segment_of(form),
            "variants": [{"name": name, "weight": weight, "text": text, "coupon_template": coupon}
                         for (name, text, coupon), weight in zip(variants, shares(form, variants))],
            "holdout": percent_of(form_text(form, "holdout") or "0", "holdout"),
            "send_at": moment_of(form_text(form, "send_at")), "repeat": None,
            "channels": {"mass_send": form_text(form, "mass_send") == "1"},
            "conversion_days": whole_of(form_text(form, "conversion_days") or "14", "conversion_days")}


def segment_of(form) -> dict:
    segment: dict = {}
    for name in LIST_FIELDS:
        values = [v for v in form.getall(name, []) if isinstance(v, str) and v]
        if values:
            segment[name] = values
    for name in CHOICE_FIELDS:
        if chosen := form_text(form, name):
            segment[name] = chosen
    for name in NUMBER_FIELDS:
        if raw := form_text(form, name):
            segment[name] = whole_of(raw, name) if name in WHOLE_FIELDS else raw
    return segment


def variants_of(form) -> list[tuple[str, str, str]]:
    """(name, text, coupon template) of each variant whose text is written; A's text is required."""
    found = [(name, form_text(form, f"text_{name}"), form_text(form, f"coupon_{name}")) for name in VARIANTS]
    variants = [variant for variant in found if variant[1]]
    if not variants:
        raise errors.InvalidCampaign("variant A needs a text")
    return variants


def written(form) -> bool:
    """Whether any variant's text is written."""
    return any(form_text(form, f"text_{name}") for name in VARIANTS)


def shares(form, variants: list[tuple[str, str, str]]) -> list[str]:
    """The editor's weights are relative (1 and 1: half each); the campaign's add up to 1, the last variant
    taking what rounding to 4 places leaves."""
    weights = []
    for name, _, _ in variants:
        try:
            weight = Decimal(form_text(form, f"weight_{name}") or "1")
        except InvalidOperation:
            raise errors.InvalidCampaign(f"variant {name}: the weight must be a number") from None
        if not weight > 0:
            raise errors.InvalidCampaign(f"variant {name}: the weight must be above 0")
        weights.append(weight)
    total = sum(weights)
    parts = [(w / total).quantize(Decimal("0.0001")) for w in weights[:-1]]
    return [str(p) for p in (*parts, Decimal(1) - sum(parts))]


def whole_of(raw: str, name: str) -> int:
    if not (raw.isascii() and raw.isdigit()):
        raise errors.InvalidCampaign(f"{name}: must be a whole number")
    return int(raw)


def percent_of(raw: str, name: str) -> str:
    try:
        value = Decimal(raw) / 100
    except InvalidOperation:
        raise errors.InvalidCampaign(f"{name}: must be a percentage, e.g. 10") from None
    return str(value)


def moment_of(raw: str) -> str | None:
    """The editor's local time (mall time) as an ISO moment; empty: now."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=MALL_TZ).isoformat()
    except ValueError:
        raise errors.InvalidCampaign("send_at: must be a date and time, e.g. 2026-03-01 10:00") from None
