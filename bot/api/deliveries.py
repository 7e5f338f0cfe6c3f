"""GET /api/v1/admin/members/{member_id}/deliveries[?limit=N]: the member's delivery log, newest first.

Every step of every push to the member (queued, deferred, pending_inbox, in_flight, sent, failed, in_doubt,
dropped, expired) with its topic, kind, channel, reason and, for a deferred push, when it is due. The log is
bounded (the last 100 steps); `limit` is 1 to 100, 50 by default. An unknown member is 404 unknown_member.
Reached with the admin secret or a key of scope crm or admin (the member service's, like the staff's changes).
"""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors

from ..app_keys import SERVICES
from .auth import MEMBER_SERVICE, reached_by
from .errors import json_answer

routes = web.RouteTableDef()
DEFAULT_LIMIT, MAX_LIMIT = 50, 100


@routes.get("/admin/members/{member_id}/deliveries")
@reached_by(MEMBER_SERVICE)
async def member_deliveries(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    member = await services.members.get(request.match_info["member_id"])
    steps = await services.pushes.deliveries(member.member_id, limit_of(request.query.get("limit")))
    return json_answer({"member_id": member.member_id, "deliveries": [step.to_dict() for step in steps]})


def limit_of(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise errors.InvalidRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)
