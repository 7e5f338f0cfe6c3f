"""GET /api/v1/admin/surveys/stores/{store_id}: the satisfaction survey's results of a store, {"store_id",
"count", "average"} (average null before the first answer). An event's are in GET /admin/events/{id}."""
from __future__ import annotations

import re

from aiohttp import web

from loyalty_core import errors

from ..app_keys import SERVICES
from .auth import MEMBER_SERVICE, reached_by
from .errors import json_answer

routes = web.RouteTableDef()
_STORE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@routes.get("/admin/surveys/stores/{store_id}")
@reached_by(MEMBER_SERVICE)
async def store_results(request: web.Request) -> web.Response:
    store_id = request.match_info["store_id"]
    if not _STORE.fullmatch(store_id):
        raise errors.InvalidRequest("store_id must be 1 to 64 of A-Z a-z 0-9 _ . -")
    return json_answer((await request.config_dict[SERVICES].surveys.results(store_id)).to_dict())
