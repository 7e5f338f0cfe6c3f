"""POST /api/v1/admin/segments/preview {"segment": {…}} -> {"count": n, "sample": [member_id, …]}

The segment's keys are all optional and AND-ed (loyalty_core/segment_rules.py): tiers, lifecycle, communities,
preferred_category, spend_level, spend_12m_min/max (CNY), balance_min/max (points), birthday_month,
days_since_purchase_min/max, joined_within_days, purchases_12m_min, holds_coupon_template, lacks_coupon_template.
An unknown key, a mistyped value, an unknown tier or coupon template is a 422 invalid_segment naming it. The
sample is the first members by id, at most `segments.sample_size`. Reached by the admin secret or an admin key.
"""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors

from ..app_keys import SERVICES
from . import fields
from .auth import PROGRAM, reached_by
from .errors import json_answer

routes = web.RouteTableDef()


@routes.post("/admin/segments/preview")
@reached_by(PROGRAM)
async def preview_segment(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    data = fields.json_object(request)
    unknown = sorted(set(data) - {"segment"})
    if unknown:
        raise errors.InvalidSegment(f"{unknown[0]}: unknown key")
    segment = await services.segments.checked(data.get("segment"))
    preview = await services.segments.preview(segment, services.facts.today())
    return json_answer({"count": preview.count, "sample": preview.sample})
