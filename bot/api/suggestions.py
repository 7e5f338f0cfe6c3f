"""GET /api/v1/admin/suggestions[?limit=N]: members' suggestions for staff (建议 in chat), newest first, with the
member id and the time; `limit` is 1 to 100, 50 by default. Reached like the member service's other reads."""
from __future__ import annotations

from aiohttp import web

from ..app_keys import SERVICES
from .auth import MEMBER_SERVICE, reached_by
from .deliveries import limit_of
from .errors import json_answer

routes = web.RouteTableDef()


@routes.get("/admin/suggestions")
@reached_by(MEMBER_SERVICE)
async def suggestions(request: web.Request) -> web.Response:
    found = await request.config_dict[SERVICES].service_desk.latest(limit_of(request.query.get("limit")))
    return json_answer({"suggestions": [{"member_id": s.member_id, "text": s.text, "at": s.at.isoformat()}
                                        for s in found]})
