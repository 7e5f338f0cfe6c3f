"""GET /api/v1/coupons/{code} and POST /api/v1/coupons/{code}/redeem: check and use a coupon at the till.

A mistyped code (its check character does not match) is refused with 422 bad_code_checksum before
anything is looked up; an unknown well-formed code is 404; a coupon that does not apply is 422 with
the reason as the error code (expired, revoked, wrong_store, wrong_category, below_threshold, …); a
coupon used by another txn_id is 409 already_used, while the same txn_id again gets the first answer.
Both are signed like every till request; a GET is signed over an empty body. The basket is the query
of the GET (amount, category, store_id; without an amount only the coupon itself is judged) or the
body of the redeem (which may also list `items`: needed by gift and buy-one-get-one coupons, and by a
category coupon on a basket of several categories, which covers only the lines of its categories).
"""
from __future__ import annotations

from typing import Mapping

from aiohttp import web

from loyalty_core import errors
from loyalty_core.coupon_rules import Basket, BasketItem
from loyalty_core.points import check_amount
from loyalty_core.till import booked_store

from ..app_keys import SERVICES
from . import fields
from .auth import PRINCIPAL, TILL, reached_by
from .errors import json_answer

routes = web.RouteTableDef()
MAX_ITEMS = 200


@routes.get("/coupons/{code}")
@reached_by(TILL)
async def check_coupon(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    query = request.query
    basket = basket_from(query, services.program, request[PRINCIPAL].store_id) if query.get("amount") else None
    checked = await services.coupons.check(request.match_info["code"], basket)
    return json_answer(checked.answer())


@routes.post("/coupons/{code}/redeem")
@reached_by(TILL)
async def redeem_coupon(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    data = fields.json_object(request)
    answer = await services.coupons.use(request.match_info["code"], fields.text(data, "txn_id"),
                                        basket_from(data, services.program, request[PRINCIPAL].store_id))
    return json_answer(answer)


def basket_from(data: Mapping, program, bound_store: str) -> Basket:
    """amount (required), category, store_id (a key bound to a store: that store), and for gift /
    buy-one-get-one coupons the item lines items: [{"sku", "price", "quantity", "category"}]."""
    maximum = program.till.max_purchase_amount
    amount = check_amount(fields.amount(dict(data)), maximum)
    store_id = booked_store(bound_store, fields.text(data, "store_id", required=False))
    return Basket(amount=amount, category=fields.text(data, "category", required=False), store_id=store_id,
                  items=_items(data.get("items"), maximum))


def _items(raw, maximum) -> tuple[BasketItem, ...]:
    if raw in (None, []):
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_ITEMS or not all(isinstance(line, dict) for line in raw):
        raise errors.InvalidRequest(f"items must be a list of at most {MAX_ITEMS} objects")
    return tuple(BasketItem(sku=fields.text(line, "sku"),
                            price=check_amount(fields.amount(line, "price"), maximum, "items[].price"),
                            quantity=_quantity(line), category=fields.text(line, "category", required=False))
                 for line in raw)


def _quantity(line: dict) -> int:
    quantity = line.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1000:
        raise errors.InvalidRequest("items[].quantity must be a whole number from 1 to 1000")
    return quantity
