"""/api/v1/admin/events: member events, their counts, check-in at the event desk and the invitations.

POST /admin/events                          {"event_id", "title", "starts_at", "ends_at", "place", "capacity",
                                             "community_id" | null, "min_tier" | null, "priority_tiers_hours",
                                             "signup_deadline", "notes"} -> 201 {"event": …}
GET  /admin/events/{id}                     {"confirmed", "waitlist", "checked_in", "feedback": {"count", "average"}}
POST /admin/events/{id}/check-ins           {"member_code"}: attendance, and the activity points, once
POST /admin/events/{id}/invitations         {"segment"?}: the invitations as a campaign to the event's audience
                                            (narrowed by the segment) -> {"event_id", "submitted", "campaign_id",
                                            "campaign": its status, "results": where its results are}
"""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors

from ..app_keys import SERVICES
from . import fields
from .admin import created
from .auth import MEMBER_SERVICE, PROGRAM, reached_by
from .communities import only
from .errors import json_answer

routes = web.RouteTableDef()


@routes.post("/admin/events")
@reached_by(PROGRAM)
async def publish_event(request: web.Request) -> web.Response:
    event = await request.config_dict[SERVICES].events.publish(fields.json_object(request))
    return created({"event": event.to_dict()})


@routes.get("/admin/events/{event_id}")
@reached_by(MEMBER_SERVICE)
async def event_counts(request: web.Request) -> web.Response:
    counts = await request.config_dict[SERVICES].events.counts(request.match_info["event_id"])
    return json_answer(counts.to_dict())


@routes.post("/admin/events/{event_id}/check-ins")
@reached_by(MEMBER_SERVICE)
async def check_in(request: web.Request) -> web.Response:
    data = only(fields.json_object(request), frozenset({"member_code"}))
    services = request.config_dict[SERVICES]
    event = await services.events.event(request.match_info["event_id"])
    arrival = await services.events.check_in(event.event_id, fields.text(data, "member_code"))
    return json_answer({"event_id": event.event_id, "member_id": arrival.member_id, "first": arrival.first,
                        "points": arrival.points})


@routes.post("/admin/events/{event_id}/invitations")
@reached_by(PROGRAM)
async def invite(request: web.Request) -> web.Response:
    data = only(fields.json_object(request), frozenset({"segment"}))
    event_id = request.match_info["event_id"]
    segment = data.get("segment", {})
    if not isinstance(segment, dict):
        raise errors.InvalidRequest("segment must be an object of segment conditions")
    campaign = await request.config_dict[SERVICES].events.invite(event_id, segment)
    return json_answer({"event_id": event_id, "submitted": campaign["planned"], "campaign_id": campaign["campaign_id"],
                        "campaign": campaign,
                        "results": f"/api/v1/admin/campaigns/{campaign['campaign_id']}/results"})
