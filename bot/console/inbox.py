"""/console/inbox: what members told the mall, newest first — their suggestions (建议), their comments on events
they came to, and a store's survey answers — each with the member linked to their page; staff mark an item
handled with a reason (once, in the audit log), through the service desk."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from loyalty_core import errors
from loyalty_core.clock import MALL_TZ
from loyalty_core.console import checked_reason
from loyalty_core.console_access import Permission

from ..app_keys import SERVICES
from .forms import form_text
from .guard import needs, session_of
from .render import page

routes = web.RouteTableDef()
SUGGESTIONS_SHOWN = 100
EVENTS_LOOKED_AT = 20            # the latest past events whose feedback is shown
ITEMS_SHOWN = 300                # the newest items of all kinds, at most
_STORE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class Item:
    ref: str
    kind: str                    # suggestion | event | survey
    at: datetime
    member_id: str
    text: str
    about: str = ""              # the event's title or the store
    score: int | None = None


@routes.get("/inbox", name="inbox")
@needs(Permission.FEEDBACK)
async def inbox(request: web.Request) -> web.Response:
    return await inbox_page(request, request.query.get("store", "").strip())


async def inbox_page(request: web.Request, store_id: str, *, error: str = "", status: int = 200) -> web.Response:
    services = request.config_dict[SERVICES]
    if store_id and not _STORE.fullmatch(store_id):
        error, status, store_id = "a store id is 1 to 64 of A-Z a-z 0-9 _ . -", 422, ""
    items = await suggestions(services) + await event_feedback(services) + await survey_answers(services, store_id)
    items.sort(key=lambda item: item.at, reverse=True)
    only_open = request.query.get("open") == "1"
    handled = await services.service_desk.handled([item.ref for item in items])
    shown = [item for item in items if not (only_open and item.ref in handled)][:ITEMS_SHOWN]
    return page(request, "inbox.html", status=status, error=error, items=shown, handled=handled, store_id=store_id,
                results=await services.surveys.results(store_id) if store_id else None, only_open=only_open)


@routes.post("/inbox/handled", name="feedback_handled")
@needs(Permission.FEEDBACK)
async def mark_handled(request: web.Request) -> web.Response:
    services, form = request.config_dict[SERVICES], await request.post()
    store_id = form_text(form, "store")
    try:
        reason = checked_reason(form_text(form, "reason"))
        mark = await services.service_desk.mark_handled(form_text(form, "ref"), session_of(request).email, reason)
    except errors.DomainError as refused:
        return await inbox_page(request, store_id, error=refused.text, status=refused.http_status)
    if mark.first:
        await services.console.record(session_of(request).email, "feedback.handled", mark.ref, reason)
    what = "marked handled" if mark.first else f"handled already by {mark.by}"
    query = {"done": what} | ({"store": store_id} if store_id else {})
    raise web.HTTPSeeOther(request.app.router["inbox"].url_for().with_query(query))


# -- the kinds of feedback, as items ---------------------------------------------------------------------------
async def suggestions(services) -> list[Item]:
    return [Item(s.ref, "suggestion", s.at, s.member_id, s.text)
            for s in await services.service_desk.latest(SUGGESTIONS_SHOWN)]


async def event_feedback(services) -> list[Item]:
    items = []
    for event in await services.events.past(EVENTS_LOOKED_AT):
        for member_id, feedback in await services.events.feedback(event.event_id):
            items.append(Item(f"event:{event.event_id}:{member_id}", "event", moment(feedback.at), member_id,
                              feedback.comment, event.title, feedback.score))
    return items


async def survey_answers(services, store_id: str) -> list[Item]:
    if not store_id:
        return []
    return [Item(f"survey:{store_id}:{a.txn_id}", "survey", moment(a.at), a.member_id, a.comment, store_id, a.score)
            for a in await services.surveys.answers(store_id)]


def moment(iso: str) -> datetime:
    parsed = datetime.fromisoformat(iso)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=MALL_TZ)
