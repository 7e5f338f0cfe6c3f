"""POST /api/v1/purchases: a purchase at a till earns the member points, once per txn_id; one with
`"member": null` is a walk-in sale (no points; its receipt may carry a join code, GET /api/v1/join-code)."""
from __future__ import annotations

from aiohttp import web

from loyalty_core.points import check_ref
from loyalty_core.till import TILL_MEMBER_KINDS, PurchaseRequest
from loyalty_core.walk_in import WalkInSale

from ..app_keys import SERVICES
from . import fields
from .auth import PRINCIPAL, TILL, reached_by
from .errors import json_answer

routes = web.RouteTableDef()


@routes.post("/purchases")
@reached_by(TILL)
async def post_purchase(request: web.Request) -> web.Response:
    data = fields.json_object(request)
    walk_in = "member" in data and data["member"] is None
    purchase = PurchaseRequest(
        txn_id=fields.text(data, "txn_id"), member=None if walk_in else fields.member_ref(data, TILL_MEMBER_KINDS),
        amount=fields.amount(data), occurred_at=fields.moment(data, "occurred_at"),
        category=fields.text(data, "category", required=False), store_id=fields.text(data, "store_id", required=False))
    till = request.config_dict[SERVICES].till
    result = await till.purchase(purchase, bound_store=request[PRINCIPAL].store_id)
    if isinstance(result, WalkInSale):
        return json_answer({"member_id": None, "points_earned": 0, "balance": None, "tier": None, "walk_in": True,
                            "txn_id": result.txn_id, "join_until": result.join_until.isoformat()})
    return json_answer({"member_id": result.member_id, "points_earned": result.points_earned,
                        "balance": result.balance, "tier": result.tier})


@routes.get("/join-code")
@reached_by(TILL)
async def join_code(request: web.Request) -> web.Response:
    """The join QR code for a walk-in sale's receipt (loyalty_core/walk_in.py): scanned within the join window,
    it joins the customer and credits the sale's points once."""
    services = request.config_dict[SERVICES]
    txn_id = check_ref(fields.text(dict(request.query), "txn_id"), "txn_id")
    qr = await services.join_qr.for_sale(txn_id, await services.till.txn_owner(txn_id))
    return json_answer({"txn_id": qr.txn_id, "scene": qr.scene, "ticket": qr.ticket, "url": qr.url,
                        "image_url": qr.image_url, "expires_at": qr.expires_at.isoformat()})
