"""/console/events: upcoming and past events with capacity, places taken and the waitlist; publish one; an
event's page with its sign-ups and waitlist, check-in at the desk (member code or member id), the invitations (a
campaign to the event's audience) and the feedback — through the event service the admin API uses."""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors
from loyalty_core.console_access import Permission, may

from ..app_keys import SERVICES
from .acting import KIND_NAMES, member_named
from .forms import form_text
from .guard import needs, session_of
from .render import page

routes = web.RouteTableDef()
EVENT_TEXT_FIELDS = ("event_id", "title", "starts_at", "ends_at", "place", "notes")
CHECK_IN_KINDS = ("member_code", "member_id")


@routes.get("/events", name="events")
@needs(Permission.EVENTS)
async def list_events(request: web.Request) -> web.Response:
    return await events_page(request)


async def events_page(request: web.Request, *, error: str = "", status: int = 200, form=None) -> web.Response:
    services = request.config_dict[SERVICES]
    upcoming = [(event, await services.events.counts(event.event_id)) for event in await services.events.upcoming()]
    past = [(event, await services.events.counts(event.event_id)) for event in await services.events.past()]
    return page(request, "events.html", status=status, error=error, upcoming=upcoming, past=past, form=form or {},
                communities=await services.communities.listing(), tiers=services.program.tiers)


@routes.post("/events", name="publish_event")
@needs(Permission.EVENTS)
async def publish_event(request: web.Request) -> web.Response:
    services, form = request.config_dict[SERVICES], await request.post()
    try:
        event = await services.events.publish(event_body(form))
    except errors.DomainError as refused:
        return await events_page(request, error=refused.text, status=refused.http_status, form=form)
    await services.console.record(session_of(request).email, "event.publish", event.event_id,
                                  detail=f"starts={event.starts_at.isoformat()} capacity={event.capacity}")
    raise done(request, event.event_id, f"published as 报名 {event.number}")


@routes.get("/events/{event_id}", name="event")
@needs(Permission.EVENTS)
async def event_page(request: web.Request) -> web.Response:
    return await show_event(request, request.match_info["event_id"])


async def show_event(request: web.Request, event_id: str, *, error: str = "", status: int = 200) -> web.Response:
    services = request.config_dict[SERVICES]
    event = await services.events.event(event_id)
    return page(request, "event.html", status=status, error=error, event=event,
                sign_ups=await services.events.sign_ups(event.event_id),
                counts=(await services.events.counts(event.event_id)).to_dict(),
                feedback=await services.events.feedback(event.event_id), kinds=CHECK_IN_KINDS, kind_names=KIND_NAMES,
                may_see_campaigns=may(session_of(request).role, Permission.CAMPAIGNS),
                invitation_id=f"event-{event.event_id}", invited=await invitation_status(services, event.event_id),
                community=await services.communities.community(event.community_id) if event.community_id else None)


@routes.post("/events/{event_id}/check-ins", name="check_in")
@needs(Permission.EVENTS)
async def check_in(request: web.Request) -> web.Response:
    """At the event desk: a member code is used up for this event's check-in, as the admin API does; a member id
    names the member without one."""
    services, event_id = request.config_dict[SERVICES], request.match_info["event_id"]
    form = await request.post()
    kind = form_text(form, "by") or "member_code"
    try:
        await services.events.event(event_id)
        if kind == "member_code":
            arrival = await services.events.check_in(event_id, form_text(form, "q"))
        else:
            arrival = await services.events.check_in_member(event_id, await member_named(request, form,
                                                                                         CHECK_IN_KINDS[1:]))
    except errors.DomainError as refused:
        return await show_event(request, event_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "event.check_in", event_id,
                                  detail=f"member={arrival.member_id} by={kind} first={arrival.first}")
    what = f"{arrival.member_id} checked in (+{arrival.points} points)" if arrival.first else \
        f"{arrival.member_id} was checked in already"
    raise done(request, event_id, what)


@routes.post("/events/{event_id}/invitations", name="invite")
@needs(Permission.EVENTS)
async def invite(request: web.Request) -> web.Response:
    """The invitations: a campaign to the event's audience (inviting again takes up the same campaign)."""
    services, event_id = request.config_dict[SERVICES], request.match_info["event_id"]
    try:
        campaign = await services.events.invite(event_id, {})
    except errors.DomainError as refused:
        return await show_event(request, event_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "event.invite", event_id,
                                  detail=f"campaign={campaign['campaign_id']} planned={campaign['planned']}")
    raise done(request, event_id, f"invitations: {campaign['planned']} planned ({campaign['campaign_id']})")


async def invitation_status(services, event_id: str) -> dict | None:
    """The invitations' campaign status, None before the first invitation."""
    try:
        return await services.campaigns.status(f"event-{event_id}")
    except errors.UnknownCampaign:
        return None


# -- the form, as the event service's body --------------------------------------------------------------------
def event_body(form) -> dict:
    """The admin API's event JSON from the form: times in mall time, optional fields left out when empty."""
    body: dict = {name: form_text(form, name) for name in EVENT_TEXT_FIELDS}
    body["capacity"] = whole_of(form_text(form, "capacity"), "capacity")
    for name in ("community_id", "min_tier"):
        body[name] = form_text(form, name) or None
    deadline = form_text(form, "signup_deadline")
    if deadline:
        body["signup_deadline"] = deadline
    return body


def whole_of(raw: str, name: str) -> int:
    if not (raw.isascii() and raw.isdigit()):
        raise errors.InvalidRequest(f"{name} must be a whole number")
    return int(raw)


def done(request: web.Request, event_id: str, what: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(request.app.router["event"].url_for(event_id=event_id).with_query(done=what))
