"""Points paying at a till (loyalty_core/points_payment.py): a payment, its reversal, a quote.

- POST /api/v1/points/redemptions {"redemption_id", "member": {…}, "points", "txn_id", "store_id"[, "amount"]}
  -> {"redemption_id", "points_spent", "cash_value", "balance", "member_id", "txn_id"}; `amount` is the basket,
  whose share points may pay is then checked. Once per redemption_id.
- POST /api/v1/points/redemptions/{redemption_id}/reverse {"reason"} (a cancelled sale, or a refund of the
  purchase it paid for) -> {"redemption_id", "points_restored", "balance", "member_id"}: the points back into
  their lots.
- GET /api/v1/points/quote?openid=|phone=|member_code=[&amount=] -> how many points may pay, and their value;
  a member code is not used up.
"""
from __future__ import annotations

from aiohttp import web

from loyalty_core.points_payment import PaymentRequest
from loyalty_core.till import TILL_MEMBER_KINDS

from ..app_keys import SERVICES
from . import fields
from .auth import PRINCIPAL, TILL, reached_by
from .errors import json_answer

routes = web.RouteTableDef()


@routes.post("/points/redemptions")
@reached_by(TILL)
async def pay_with_points(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    data = fields.json_object(request)
    payment = PaymentRequest(
        redemption_id=fields.text(data, "redemption_id"), member=fields.member_ref(data, TILL_MEMBER_KINDS),
        points=fields.whole_number(data, "points"), txn_id=fields.text(data, "txn_id"),
        store_id=fields.text(data, "store_id", required=False),
        amount=fields.optional_amount(data, services.program.till.max_purchase_amount))
    paid = await services.payments.pay(payment, bound_store=request[PRINCIPAL].store_id)
    return json_answer({"redemption_id": paid.redemption_id, "points_spent": paid.points_spent,
                        "cash_value": str(paid.cash_value), "balance": paid.balance, "member_id": paid.member_id,
                        "txn_id": paid.txn_id})


@routes.post("/points/redemptions/{redemption_id}/reverse")
@reached_by(TILL)
async def reverse_points_payment(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    data = fields.json_object(request)
    reversal = await services.payments.reverse(request.match_info["redemption_id"], fields.text(data, "reason"),
                                               bound_store=request[PRINCIPAL].store_id)
    return json_answer({"redemption_id": reversal.redemption_id, "points_restored": reversal.points_restored,
                        "balance": reversal.balance, "member_id": reversal.member_id})


@routes.get("/points/quote")
@reached_by(TILL)
async def quote_points(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    amount = fields.optional_amount(request.query, services.program.till.max_purchase_amount)
    quote = await services.payments.quote(fields.member_query(request.query, TILL_MEMBER_KINDS), amount)
    return json_answer({"member_id": quote.member_id, "balance": quote.balance, "points": quote.points,
                        "cash_value": str(quote.cash_value), "points_per_yuan": quote.points_per_yuan,
                        "min_points": quote.min_points, "max_share_percent": quote.max_share_percent})
