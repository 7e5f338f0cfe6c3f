"""The member at the counter and the service desk.

- GET /api/v1/members/lookup?member_code=|phone=|openid= -> {"member_id", "tier", "tier_name", "benefits",
  "display_name" (masked), "birthday_this_month"}; a member code is not used up (loyalty_core/counter.py).
- POST /api/v1/vouchers/{code}/collect {"desk_id", "staff_id"[, "request_id"]} -> the voucher's gift, handed
  over once; a second collect is 409 already_used (loyalty_core/desk.py).
"""
from __future__ import annotations

from aiohttp import web

from loyalty_core.till import TILL_MEMBER_KINDS

from ..app_keys import SERVICES
from . import fields
from .auth import TILL, reached_by
from .errors import json_answer

routes = web.RouteTableDef()


@routes.get("/members/lookup")
@reached_by(TILL)
async def look_up_member(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    found = await services.counter.lookup(fields.member_query(request.query, TILL_MEMBER_KINDS))
    return json_answer({"member_id": found.member_id, "tier": found.tier, "tier_name": found.tier_name,
                        "benefits": list(found.benefits), "display_name": found.display_name,
                        "birthday_this_month": found.birthday_this_month})


@routes.post("/vouchers/{code}/collect")
@reached_by(TILL)
async def collect_voucher(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    data = fields.json_object(request)
    collected = await services.desk.collect(request.match_info["code"], fields.text(data, "desk_id"),
                                            fields.text(data, "staff_id"),
                                            fields.text(data, "request_id", required=False))
    return json_answer({"code": collected.code, "gift": collected.gift, "source": collected.source,
                        "member_id": collected.member_id, "collected_at": collected.collected_at.isoformat(),
                        "desk_id": collected.desk_id, "staff_id": collected.staff_id})
