"""POST /api/v1/refunds: a refund takes back the purchase's points in proportion, once per refund_id."""
from __future__ import annotations

from aiohttp import web

from loyalty_core.till import RefundRequest

from ..app_keys import SERVICES
from . import fields
from .auth import PRINCIPAL, TILL, reached_by
from .errors import json_answer

routes = web.RouteTableDef()


@routes.post("/refunds")
@reached_by(TILL)
async def post_refund(request: web.Request) -> web.Response:
    data = fields.json_object(request)
    refund = RefundRequest(refund_id=fields.text(data, "refund_id"), txn_id=fields.text(data, "txn_id"),
                           amount=fields.amount(data))
    till = request.config_dict[SERVICES].till
    result = await till.refund(refund, bound_store=request[PRINCIPAL].store_id)
    return json_answer({"member_id": result.member_id, "refund_id": result.refund_id, "txn_id": result.txn_id,
                        "points_reversed": result.points_reversed, "balance": result.balance,
                        "debt": result.debt, "tier": result.tier})
