"""/console/members: find a member by member code, member id or phone (a phone is shown masked); a member's page
with points, coupons, events, communities and deliveries; the staff actions, each with a mandatory reason and in
the audit log (points adjusted, a birthday changed, a coupon revoked or issued again, a message sent
again), through the core services; a member's data exported as a JSON download (service staff and admins) and
erased on request (admins, with a reason and a confirmation), both audited. /console/birthdays: the members
whose birthday falls this week, for the service desk."""
from __future__ import annotations

from datetime import timedelta

import orjson
from aiohttp import web

from loyalty_core import errors
from loyalty_core.console import checked_reason
from loyalty_core.console_access import Permission, may, new_token
from loyalty_core.members import MemberRef
from loyalty_core.phone import mask_phone
from loyalty_core.points import mask_name

from ..app_keys import SERVICES
from .forms import form_text
from .guard import needs, session_of
from .render import page

routes = web.RouteTableDef()
SEARCH_KINDS = ("member_code", "member_id", "phone")
MAX_POINTS_ADJUSTMENT = 100_000
DELIVERIES_SHOWN = 20


@routes.get("/members", name="members")
@needs(Permission.MEMBERS_VIEW)
async def search_form(request: web.Request) -> web.Response:
    return page(request, "members.html", query="", kind="member_code", kinds=SEARCH_KINDS, error="")


@routes.post("/members", name="search_members")
@needs(Permission.MEMBERS_VIEW)
async def search(request: web.Request) -> web.Response:
    """A POST, so that a phone number searched for never sits in a URL (history, proxies' logs)."""
    form = await request.post()
    query, kind = form_text(form, "q"), form_text(form, "by") or "member_code"
    if kind not in SEARCH_KINDS:
        raise web.HTTPBadRequest(text=f"search by one of {', '.join(SEARCH_KINDS)}")
    try:
        if not query:
            raise errors.InvalidRequest("type a member code, a member id or a phone number")
        member_id = await request.config_dict[SERVICES].resolver.peek(MemberRef(kind, query), SEARCH_KINDS)
    except errors.DomainError as missing:
        shown = query if kind != "phone" else ""
        return page(request, "members.html", status=404 if missing.http_status == 404 else 422, query=shown,
                    kind=kind, kinds=SEARCH_KINDS, error=missing.text)
    raise web.HTTPSeeOther(request.app.router["member"].url_for(member_id=member_id))


@routes.get("/members/{member_id}", name="member")
@needs(Permission.MEMBERS_VIEW)
async def member_page(request: web.Request) -> web.Response:
    member_id = request.match_info["member_id"]
    member = await request.config_dict[SERVICES].members.get(member_id)
    if member.member_id != member_id:       # a follower folded into an imported member: that member's page
        raise web.HTTPSeeOther(str(request.app.router["member"].url_for(member_id=member.member_id)))
    return await render_member(request, member_id)


async def render_member(request: web.Request, member_id: str, *, error: str = "", status: int = 200,
                        erase_reason: str = ""):
    services = request.config_dict[SERVICES]
    member = await services.members.get(member_id)
    now = services.clock.now()
    phone = await services.members.phone_of(member_id)
    tier = await services.tiers.status(member_id, now)
    return page(
        request, "member.html", status=status, member=member, error=error, action_id=new_token(),
        name=mask_name(member.nickname, member.member_id), phone=mask_phone(phone) if phone else "—",
        tier=tier, points=await services.points.summary(member_id, now),
        history=(await services.points.history(member_id)).entries, coupons=await services.coupons.wallet(member_id),
        events=await services.events.mine(member_id), communities=await services.communities.of_member(member_id),
        deliveries=await services.pushes.deliveries(member_id, DELIVERIES_SHOWN),
        templates=services.program.coupons.templates, birthday=await services.birthdays.status(member_id),
        may_act=may(session_of(request).role, Permission.MEMBERS_ACT),
        may_erase=may(session_of(request).role, Permission.MEMBERS_ERASE), erase_reason=erase_reason)


@routes.post("/members/{member_id}/points", name="adjust_points")
@needs(Permission.MEMBERS_ACT)
async def adjust_points(request: web.Request) -> web.Response:
    services, member_id = request.config_dict[SERVICES], request.match_info["member_id"]
    form = await request.post()
    try:
        reason, points = checked_reason(form_text(form, "reason")), points_of(form_text(form, "points"))
        ref = f"console:{action_id(form)}"
        await services.members.get(member_id)
        if points > 0:
            change = await services.points.grant(member_id, points, "staff", ref)
        else:
            change = await services.points.spend(member_id, -points, ref)
    except errors.DomainError as refused:
        return await render_member(request, member_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "points.adjust", member_id, reason,
                                  f"points={points:+d} balance={change.balance} ref={ref}")
    raise done(request, member_id, f"points {points:+d}")


@routes.post("/members/{member_id}/coupons/revoke", name="revoke_coupon")
@needs(Permission.MEMBERS_ACT)
async def revoke_coupon(request: web.Request) -> web.Response:
    services, member_id = request.config_dict[SERVICES], request.match_info["member_id"]
    form = await request.post()
    code = form_text(form, "code")
    try:
        reason = checked_reason(form_text(form, "reason"))
        if code not in {coupon.code for coupon in await services.coupons.wallet(member_id)}:
            raise errors.UnknownCoupon()
        coupon = await services.coupons.revoke(code)
    except errors.DomainError as refused:
        return await render_member(request, member_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "coupon.revoke", member_id, reason,
                                  f"code={coupon.code} template={coupon.template.id}")
    raise done(request, member_id, f"revoked {coupon.code}")


@routes.post("/members/{member_id}/coupons/issue", name="issue_coupon")
@needs(Permission.MEMBERS_ACT)
async def issue_coupon(request: web.Request) -> web.Response:
    """A coupon issued again (say, one revoked by mistake): the template's coupon, once per form shown."""
    services, member_id = request.config_dict[SERVICES], request.match_info["member_id"]
    form = await request.post()
    try:
        reason = checked_reason(form_text(form, "reason"))
        await services.members.get(member_id)
        coupon = await services.coupons.issue(member_id, form_text(form, "template_id"),
                                              f"console:{action_id(form)}", source="console")
    except errors.DomainError as refused:
        return await render_member(request, member_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "coupon.issue", member_id, reason,
                                  f"code={coupon.code} template={coupon.template.id}")
    raise done(request, member_id, f"issued {coupon.code}")


@routes.post("/members/{member_id}/birthday", name="change_birthday")
@needs(Permission.MEMBERS_ACT)
async def change_birthday(request: web.Request) -> web.Response:
    """The birthday a member may set only once, set or changed by staff (the birthday service's own audit too)."""
    services, member_id = request.config_dict[SERVICES], request.match_info["member_id"]
    form = await request.post()
    calendar = "lunar" if form_text(form, "calendar") == "lunar" else "solar"
    try:
        reason = checked_reason(form_text(form, "reason"))
        await services.members.get(member_id)
        changed = await services.birthdays.change(member_id, form_text(form, "birthday"), calendar,
                                                  staff_id=session_of(request).email, reason=reason,
                                                  request_id=f"console:{action_id(form)[:40]}")
    except errors.DomainError as refused:
        return await render_member(request, member_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "birthday.change", member_id, reason,
                                  f"calendar={calendar} action={changed.action}")   # the date itself stays sealed
    raise done(request, member_id, f"birthday {changed.action}")


@routes.post("/members/{member_id}/deliveries/{push_id}/resend", name="resend_notice")
@needs(Permission.MEMBERS_ACT)
async def resend_notice(request: web.Request) -> web.Response:
    """A message the member says never came, sent again (planned like any other: window, quota, quiet hours)."""
    services, member_id = request.config_dict[SERVICES], request.match_info["member_id"]
    push_id = request.match_info["push_id"]
    form = await request.post()
    try:
        reason = checked_reason(form_text(form, "reason"))
        record = await services.pushes.resend(member_id, push_id, action_id(form))
    except errors.DomainError as refused:
        return await render_member(request, member_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "notice.resend", member_id, reason,
                                  f"push={push_id} again={record.push_id} status={record.status}")
    raise done(request, member_id, f"message sent again ({record.status})")


@routes.post("/members/{member_id}/export", name="export_member")
@needs(Permission.MEMBERS_ACT)
async def export_member(request: web.Request) -> web.Response:
    """Everything held about the member, for their own request: a JSON file (a POST: the form's CSRF token)."""
    services, member_id = request.config_dict[SERVICES], request.match_info["member_id"]
    document = await services.personal_data.export(member_id)
    await services.console.record(session_of(request).email, "member.export", member_id, "", "download")
    return web.Response(body=orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
                        content_type="application/json", headers={
                            "Content-Disposition": f'attachment; filename="member-{member_id}.json"',
                            "Cache-Control": "no-store"})


@routes.post("/members/{member_id}/erase", name="erase_member")
@needs(Permission.MEMBERS_ERASE)
async def erase_member(request: web.Request) -> web.Response:
    """Two steps: the reason, then the confirmation on the page it shows; only the second erases."""
    services, member_id = request.config_dict[SERVICES], request.match_info["member_id"]
    form = await request.post()
    try:
        reason = checked_reason(form_text(form, "reason"))
        if form_text(form, "confirm") != "erase":
            return await render_member(request, member_id, erase_reason=reason)
        erased = await services.personal_data.erase(member_id, reason)
    except errors.DomainError as refused:
        return await render_member(request, member_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "member.erase", member_id, erased.reason,
                                  " ".join(f"{name}={n}" for name, n in sorted(erased.copies_removed.items())))
    raise done(request, member_id, "erased")


@routes.get("/birthdays", name="birthdays")
@needs(Permission.MEMBERS_ACT)
async def birthdays_this_week(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    today = services.facts.today()
    days = []
    for offset in range(7):
        day = today + timedelta(days=offset)
        member_ids = await services.birthdays.members_with_birthday_on(day)
        members = [await services.members.get(member_id) for member_id in sorted(member_ids)]
        days.append((day, [(m.member_id, mask_name(m.nickname, m.member_id)) for m in members]))
    return page(request, "birthdays.html", days=days)


def points_of(raw: str) -> int:
    try:
        points = int(raw)
    except ValueError:
        raise errors.InvalidRequest("points must be a whole number, e.g. 200 or -200") from None
    if points == 0 or abs(points) > MAX_POINTS_ADJUSTMENT:
        raise errors.InvalidRequest(f"points must be from -{MAX_POINTS_ADJUSTMENT:,} to {MAX_POINTS_ADJUSTMENT:,}, "
                                    "not 0")
    return points


def action_id(form) -> str:
    """The form's own id: the same form sent twice (a double click, a retry) changes things once."""
    value = form_text(form, "action_id")
    if not 20 <= len(value) <= 64 or not value.replace("-", "").replace("_", "").isalnum():
        raise errors.InvalidRequest("the form is incomplete: reload the page")
    return value


def done(request: web.Request, member_id: str, what: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(request.app.router["member"].url_for(member_id=member_id).with_query(done=what))
