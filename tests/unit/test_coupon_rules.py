"""The pure coupon rules: each kind priced against baskets (a table per kind), the refusals, rounding
to the fen, validity, plain-Chinese terms, and a property over any basket and coupon."""
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_core.clock import MALL_TZ
from loyalty_core.coupon_rules import (
    Basket, BasketItem, CouponState, CouponTemplate, evaluate, terms_zh, validity_at_issue, yuan,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=MALL_TZ)
LIVE = CouponState("issued", None, NOW + timedelta(days=10))
NAMES = {"dining": "餐饮", "fashion": "服饰"}


def template(kind: str, **rules) -> CouponTemplate:
    return CouponTemplate(id="t", title="t", kind=kind, valid_days=30, **rules)


def basket(amount: str, category: str = "dining", store: str = "S01", items=()) -> Basket:
    return Basket(D(amount), category, store, tuple(items))


def item(sku: str, price: str, quantity: int = 1, category: str = "dining") -> BasketItem:
    return BasketItem(sku, D(price), quantity, category)


def priced(coupon: CouponTemplate, cart: Basket, state: CouponState = LIVE) -> tuple:
    result = evaluate(coupon, state, cart, NOW)
    return result.applies, result.discount, result.reason


CASH_OFF = template("cash_off", value=D("20"), min_amount=D("100"))
THRESHOLD = template("threshold", value=D("30"), min_amount=D("200"), categories=("dining",))
PERCENT = template("percentage", percent_off=D("15"), max_discount=D("100"))
GIFT = template("gift", gift="星巴克中杯咖啡", sku="SBUX", value=D("35"))
BOGO = template("bogo", sku="TEA", max_free=2)
VOUCHER = template("voucher", gift="帆布袋")
FASHION_PERCENT = template("percentage", percent_off=D("15"), max_discount=D("100"), min_amount=D("300"),
                           categories=("fashion",))


@pytest.mark.parametrize("coupon, cart, expected", [
    # cash off: the value, never more than the basket; its minimum spend
    (CASH_OFF, basket("150.00"), (True, D("20.00"), None)),
    (CASH_OFF, basket("100.00"), (True, D("20.00"), None)),
    (CASH_OFF, basket("99.99"), (False, D("0.00"), "below_threshold")),
    (template("cash_off", value=D("50")), basket("12.30"), (True, D("12.30"), None)),
    # threshold 满200减30 for dining
    (THRESHOLD, basket("200.00"), (True, D("30.00"), None)),
    (THRESHOLD, basket("880.00"), (True, D("30.00"), None)),
    (THRESHOLD, basket("199.99"), (False, D("0.00"), "below_threshold")),
    (THRESHOLD, basket("500.00", category="fashion"), (False, D("0.00"), "wrong_category")),
    (THRESHOLD, basket("500.00", category="", items=[item("X", "500", category="dining")]), (True, D("30.00"), None)),
    # percentage: rounded down to the fen, capped
    (PERCENT, basket("100.00"), (True, D("15.00"), None)),
    (PERCENT, basket("99.99"), (True, D("14.99"), None)),           # 14.9985 -> 14.99
    (PERCENT, basket("0.01"), (True, D("0.00"), None)),             # 0.0015 -> 0.00
    (PERCENT, basket("1000.00"), (True, D("100.00"), None)),        # 150 capped at 100
    (template("percentage", percent_off=D("33")), basket("10.01"), (True, D("3.30"), None)),   # 3.3033
    # gift: the gift item free (up to its value), or the gift rung up alone
    (GIFT, basket("30.00", items=[item("SBUX", "30.00")]), (True, D("30.00"), None)),
    (GIFT, basket("80.00", items=[item("SBUX", "42.00"), item("CAKE", "38.00")]), (True, D("35.00"), None)),
    (GIFT, basket("38.00", items=[item("CAKE", "38.00")]), (False, D("0.00"), "gift_not_in_basket")),
    (GIFT, basket("33.00"), (True, D("33.00"), None)),
    (GIFT, basket("50.00"), (True, D("35.00"), None)),
    # buy one get one: every second unit free, the cheaper of each pair, at most max_free
    (BOGO, basket("36.00", items=[item("TEA", "18.00", 2)]), (True, D("18.00"), None)),
    (BOGO, basket("52.00", items=[item("TEA", "18.00"), item("TEA", "16.00"), item("CAKE", "18.00")]),
     (True, D("16.00"), None)),
    (BOGO, basket("90.00", items=[item("TEA", "18.00", 5)]), (True, D("36.00"), None)),        # max 2 free
    (BOGO, basket("18.00", items=[item("TEA", "18.00")]), (False, D("0.00"), "no_eligible_items")),
    (BOGO, basket("36.00"), (False, D("0.00"), "items_required")),
    (template("bogo", categories=("dining",)), basket("30.00", items=[item("A", "20"), item("B", "10")]),
     (True, D("10.00"), None)),
    # voucher: applies, nothing off the bill
    (VOUCHER, basket("0.01"), (True, D("0.00"), None)),
    # a basket of several categories: only its lines of the coupon's categories count, for the
    # threshold, for the percentage and as the most the coupon takes off
    (THRESHOLD, basket("250.00", category="", items=[item("X", "20", category="dining"),
                                                     item("Y", "230", category="fashion")]),
     (False, D("0.00"), "below_threshold")),
    (FASHION_PERCENT, basket("1000.00", category="", items=[item("X", "400", category="fashion"),
                                                            item("Y", "600", category="kids")]),
     (True, D("60.00"), None)),
    (FASHION_PERCENT, basket("1000.00", category="", items=[item("X", "100", category="fashion"),
                                                            item("Y", "900", category="kids")]),
     (False, D("0.00"), "below_threshold")),
    (template("cash_off", value=D("50"), categories=("dining",)),
     basket("112.30", category="", items=[item("X", "12.30"), item("Y", "100", category="kids")]),
     (True, D("12.30"), None)),
    (FASHION_PERCENT, basket("1000.00", category="fashion", items=[item("X", "400", category="kids")]),
     (True, D("100.00"), None)),                                     # the till says the sale is fashion
    # a gift of any item of its categories (no sku): the dearest such item, up to its value
    (template("gift", gift="任意饮品", value=D("20"), categories=("dining",)),
     basket("43.00", category="", items=[item("TEA", "18.00"), item("CAKE", "25.00", category="kids")]),
     (True, D("18.00"), None)),
])
def test_each_kind_prices_the_basket(coupon, cart, expected):
    assert priced(coupon, cart) == expected


@pytest.mark.parametrize("state, cart, reason", [
    (CouponState("used", None, NOW + timedelta(days=1)), basket("300"), "already_used"),
    (CouponState("revoked", None, NOW + timedelta(days=1)), basket("300"), "revoked"),
    (CouponState("expired", None, NOW + timedelta(days=1)), basket("300"), "expired"),
    (CouponState("issued", None, NOW), basket("300"), "expired"),                    # the end is exclusive
    (CouponState("issued", NOW + timedelta(seconds=1), NOW + timedelta(days=1)), basket("300"), "not_yet_valid"),
])
def test_status_and_dates_refuse_before_anything_else(state, cart, reason):
    assert priced(THRESHOLD, cart, state) == (False, D("0.00"), reason)


def test_a_store_restriction():
    coupon = template("cash_off", value=D("10"), stores=("S01", "S02"))
    assert priced(coupon, basket("50", store="S02"))[0]
    assert priced(coupon, basket("50", store="S09")) == (False, D("0.00"), "wrong_store")


def test_validity_n_days_from_issue_or_fixed_dates():
    issued = datetime(2026, 1, 15, 22, 30, tzinfo=MALL_TZ)
    days = validity_at_issue(template("cash_off", value=D("1")), issued)
    assert days.last_day == date(2026, 2, 14) and days.expires_at == datetime(2026, 2, 15, tzinfo=MALL_TZ)
    fixed = CouponTemplate(id="f", title="f", kind="cash_off", value=D("1"), valid_from=date(2026, 2, 1),
                           valid_until=date(2026, 2, 28))
    window = validity_at_issue(fixed, issued)
    assert window.starts_at == datetime(2026, 2, 1, tzinfo=MALL_TZ) and window.last_day == date(2026, 2, 28)
    assert validity_at_issue(fixed, datetime(2026, 3, 1, tzinfo=MALL_TZ)) is None


@pytest.mark.parametrize("coupon, text", [
    (THRESHOLD, "满200减30，餐饮可用，至12月31日"),
    (CASH_OFF, "立减20元，满100可用，至12月31日"),
    (PERCENT, "8.5折（最高减100元），至12月31日"),
    (GIFT, "免费兑换星巴克中杯咖啡，至12月31日"),
    (template("bogo", gift="招牌奶茶", stores=("S01",)), "招牌奶茶买一送一，限S01门店，至12月31日"),
    (VOUCHER, "凭券领取帆布袋，至12月31日"),
])
def test_terms_in_plain_chinese(coupon, text):
    assert terms_zh(coupon, date(2026, 12, 31), NAMES) == text


def test_yuan_writes_prices_as_on_a_coupon():
    assert [yuan(D(x)) for x in ("30.00", "12.50", "0.05", "200")] == ["30", "12.5", "0.05", "200"]


# -- any basket, any coupon ------------------------------------------------------------------------------
money = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
categories = st.sampled_from(["dining", "fashion", "kids", ""])
stores = st.sampled_from(["S01", "S02", ""])
items = st.lists(st.builds(BasketItem, sku=st.sampled_from(["TEA", "SBUX", "X"]), price=money,
                           quantity=st.integers(1, 5), category=categories), max_size=6)


def valid_template(**fields) -> CouponTemplate:
    """Any template the program file or the admin API accepts: a 满减's threshold is at least its value,
    gift and voucher coupons say what is given."""
    if fields["kind"] == "threshold":
        fields["min_amount"] = max(fields["min_amount"], fields["value"])
    return CouponTemplate(gift="礼品", **fields)


templates = st.builds(
    valid_template, id=st.just("t"), title=st.just("t"), kind=st.sampled_from(
        ["cash_off", "threshold", "percentage", "gift", "bogo", "voucher"]),
    value=money, min_amount=st.one_of(st.just(D("0.00")), money), percent_off=st.integers(1, 99).map(D),
    max_discount=st.one_of(st.none(), money), sku=st.sampled_from(["", "TEA", "SBUX"]),
    max_free=st.integers(1, 3), categories=st.lists(categories.filter(bool), max_size=2, unique=True).map(tuple),
    stores=st.lists(stores.filter(bool), max_size=2, unique=True).map(tuple), valid_days=st.just(30))
baskets = st.builds(Basket, amount=money, category=categories, store_id=stores, items=items.map(tuple))
states = st.builds(CouponState, status=st.sampled_from(["issued", "issued", "used", "expired", "revoked"]),
                   starts_at=st.none(), expires_at=st.sampled_from([NOW - timedelta(seconds=1), NOW + timedelta(days=1)]))


@given(coupon=templates, cart=baskets, state=states)
def test_any_discount_is_between_zero_and_the_basket_and_zero_where_the_rules_exclude_it(coupon, cart, state):
    result = evaluate(coupon, state, cart, NOW)
    covered = cart.amount if not coupon.categories or cart.category in coupon.categories else \
        min(cart.amount, sum((i.price * i.quantity for i in cart.items if i.category in coupon.categories), D(0)))
    assert D(0) <= result.discount <= covered <= cart.amount
    assert result.discount == result.discount.quantize(D("0.01"))
    excluded = (state.status != "issued" or NOW >= state.expires_at
                or (coupon.stores and cart.store_id not in coupon.stores)
                or (coupon.categories and cart.category not in coupon.categories
                    and not any(i.category in coupon.categories for i in cart.items))
                or covered < coupon.min_amount)
    if excluded:
        assert not result.applies and result.discount == 0 and result.reason
    if not result.applies:
        assert result.discount == 0


ISSUED_FORMS = [CASH_OFF, THRESHOLD, PERCENT, GIFT,
                CouponTemplate(id="today", title="当日券", kind="cash_off", value=D("5"), valid_days=0),
                CouponTemplate(id="fixed", title="限时", kind="voucher", gift="停车券", valid_from=date(2026, 7, 1),
                               valid_until=date(2026, 7, 31), stores=("S01",), per_member_limit=2, total_limit=500,
                               min_tier="gold", member_day_only=True, max_free=3)]


@pytest.mark.parametrize("coupon", ISSUED_FORMS, ids=lambda t: t.id)
def test_an_issued_coupon_keeps_every_term_that_applies_and_reads_back_as_its_template(coupon):
    kept = coupon.issued_form()
    assert CouponTemplate.from_dict(orjson.loads(orjson.dumps(kept))) == coupon      # valid_days = 0 included
    assert all(not getattr(coupon, name) for name in set(coupon.to_dict()) - set(kept))


def test_an_issued_coupon_leaves_out_only_what_is_empty():
    assert CASH_OFF.issued_form() == {"id": "t", "title": "t", "kind": "cash_off", "value": "20.00",
                                      "min_amount": "100.00", "max_free": 1, "valid_days": 30}
