"""/api/v1/admin: coupon templates, catalogue items and coupons made by staff (HMAC like the tills).

POST /admin/coupon-templates      a template (the keys of a [[coupons.templates]] entry)  -> 201
POST /admin/catalogue-items       an item (the keys of a [[catalogue.items]] entry)       -> 201
POST /admin/coupons               {"member": {"openid"|"phone"|"member_id"}, "template_id", "issue_key"}
POST /admin/coupons/{code}/revoke {"reason": "…"}: required, so that the request has a body of its own to sign (an
                                  empty body's signature is that of every GET of the same second); checked, not stored
"""
from __future__ import annotations

import orjson
from aiohttp import web

from loyalty_core import errors
from loyalty_core.coupons import Coupon
from loyalty_core.members import MemberKind
from loyalty_core.program import ProgramError, parse_catalogue_item, parse_coupon_template

from ..app_keys import SERVICES
from . import fields
from .auth import MEMBER_SERVICE, PROGRAM, reached_by
from .errors import json_answer

routes = web.RouteTableDef()
STAFF_MEMBER_KINDS: tuple[MemberKind, ...] = ("openid", "phone", "member_id")   # a member code is the till's


def created(answer: dict) -> web.Response:
    return web.Response(status=201, body=orjson.dumps(answer), content_type="application/json")


@routes.post("/admin/coupon-templates")
@reached_by(PROGRAM)
async def create_template(request: web.Request) -> web.Response:
    template = definition(parse_coupon_template, fields.json_object(request))
    await request.config_dict[SERVICES].coupons.create_template(template)
    return created({"template": template.to_dict()})


@routes.post("/admin/catalogue-items")
@reached_by(PROGRAM)
async def create_item(request: web.Request) -> web.Response:
    item = definition(parse_catalogue_item, fields.json_object(request))
    await request.config_dict[SERVICES].redemption.create_item(item)
    return created({"item": item.to_dict()})


@routes.post("/admin/coupons")
@reached_by(MEMBER_SERVICE)
async def issue_coupon(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    data = fields.json_object(request)
    member_id = await services.resolver.resolve(fields.member_ref(data, STAFF_MEMBER_KINDS), STAFF_MEMBER_KINDS)
    coupon = await services.coupons.issue(member_id, fields.text(data, "template_id"),
                                          fields.text(data, "issue_key"), source="admin")
    return created(coupon_answer(coupon))


@routes.post("/admin/coupons/{code}/revoke")
@reached_by(MEMBER_SERVICE)
async def revoke_coupon(request: web.Request) -> web.Response:
    fields.text(fields.json_object(request), "reason")
    coupon = await request.config_dict[SERVICES].coupons.revoke(request.match_info["code"])
    return json_answer(coupon_answer(coupon))


def definition(parse, data: dict):
    try:
        return parse(data)
    except ProgramError as error:
        raise errors.InvalidDefinition(str(error)) from None


def coupon_answer(coupon: Coupon) -> dict:
    return {"code": coupon.code, "grouped": coupon.grouped, "member_id": coupon.member_id,
            "template_id": coupon.template.id, "title": coupon.template.title, "terms": coupon.terms,
            "status": coupon.status, "expires_at": coupon.expires_at.isoformat()}
