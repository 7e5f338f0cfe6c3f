"""POST /api/v1/purchases: a purchase at a till earns the member points, once per txn_id."""
from __future__ import annotations

from aiohttp import web

from loyalty_core.till import TILL_MEMBER_KINDS, PurchaseRequest

from ..app_keys import SERVICES
from . import fields
from .auth import PRINCIPAL, TILL, reached_by
from .errors import json_answer

routes = web.RouteTableDef()


@routes.post("/purchases")
@reached_by(TILL)
async def post_purchase(request: web.Request) -> web.Response:
    data = fields.json_object(request)
    purchase = PurchaseRequest(
        txn_id=fields.text(data, "txn_id"), member=fields.member_ref(data, TILL_MEMBER_KINDS),
        amount=fields.amount(data), occurred_at=fields.moment(data, "occurred_at"),
        category=fields.text(data, "category", required=False), store_id=fields.text(data, "store_id", required=False))
    till = request.config_dict[SERVICES].till
    result = await till.purchase(purchase, bound_store=request[PRINCIPAL].store_id)
    return json_answer({"member_id": result.member_id, "points_earned": result.points_earned,
                        "balance": result.balance, "tier": result.tier})
