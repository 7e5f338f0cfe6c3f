"""/api/v1/admin/campaigns: A/B campaigns with a holdout, sent through the push side, and their results.

POST /admin/campaigns              {"campaign_id", "name", "kind": "marketing", "segment": {…}, "variants":
                                   [{"name", "weight", "text", "coupon_template"?}], "holdout": 0.1, "send_at": ISO
                                   time | null (now), "repeat": null, "channels": {"mass_send": false},
                                   "conversion_days": 14} -> 201; the same body again -> the first answer (200);
                                   another body under the same campaign_id -> 409; a campaign that cannot work -> 422
                                   invalid_campaign naming the problem, nothing stored
GET  /admin/campaigns/{id}          status and counts {"audience", "holdout", "planned", "sent", "pending_inbox",
                                   "deferred", "dropped": {reason: n}}
POST /admin/campaigns/{id}/cancel   {"reason": "…"} -> the status; a campaign sent or cancelled already -> 409
GET  /admin/campaigns/{id}/results  per variant and the holdout: members, sent, delivered, coupons, redemptions,
                                   purchasers and spend within conversion_days, conversion, uplift, z, p; a verdict
A campaign due now is sent by the scheduler's `campaigns` job (every run, and `scheduler run campaigns`).
"""
from __future__ import annotations

import orjson
from aiohttp import web

from ..app_keys import SERVICES
from . import fields
from .auth import PROGRAM, reached_by
from .errors import json_answer

routes = web.RouteTableDef()


@routes.post("/admin/campaigns")
@reached_by(PROGRAM)
async def create_campaign(request: web.Request) -> web.Response:
    body = fields.json_object(request)
    answer, created = await request.config_dict[SERVICES].campaigns.create(body)
    return web.Response(status=201 if created else 200, body=orjson.dumps(answer), content_type="application/json")


@routes.get("/admin/campaigns/{campaign_id}")
@reached_by(PROGRAM)
async def campaign_status(request: web.Request) -> web.Response:
    return json_answer(await request.config_dict[SERVICES].campaigns.status(request.match_info["campaign_id"]))


@routes.post("/admin/campaigns/{campaign_id}/cancel")
@reached_by(PROGRAM)
async def cancel_campaign(request: web.Request) -> web.Response:
    fields.text(fields.json_object(request), "reason")
    return json_answer(await request.config_dict[SERVICES].campaigns.cancel(request.match_info["campaign_id"]))


@routes.get("/admin/campaigns/{campaign_id}/results")
@reached_by(PROGRAM)
async def campaign_results(request: web.Request) -> web.Response:
    return json_answer(await request.config_dict[SERVICES].campaign_results.results(
        request.match_info["campaign_id"]))
