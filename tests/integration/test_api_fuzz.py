"""Every till and admin endpoint under fuzzed input, signed so that it reaches the handler: wrong types, huge
and negative numbers, floats, NaN and Infinity, nested objects, unicode, 5,000-character strings, missing and
extra fields, bodies that are not JSON. Never a 5xx, never a state change.

The endpoints come from the app's own route table: one added later fails the completeness test until it has
a strategy here. A POST is a valid request with at least one part broken (a required field missing, a value the
endpoint must refuse, an unknown key in a definition, a path naming nothing), or a body that is no request at
all; so any answer but a refusal would be a state change, which the snapshot of the database (all of it but the
signature bindings every signed body leaves) would show. A GET only reads, so every part of it is fuzzed (one whose parts all came out valid is answered, and
changes nothing either)."""
from __future__ import annotations

import itertools
import json
import math
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.api.auth import TILL, scopes_reaching, sign
from loyalty_core import keys
from loyalty_core.catalogue import ITEM_KINDS
from loyalty_core.clock import MALL_TZ
from loyalty_core.coupon_rules import COUPON_KINDS
from loyalty_core.redis_store.communities import RedisCommunityStore
from tests.fixtures_bot import ADMIN_SECRET, POS_SECRET
from tests.integration.till import Till, snapshot

MISSING = object()                         # the field is left out
SEED_OPENID, SEED_TXN, SEED_COMMUNITY, SEED_EVENT = "o_fuzz", "T-seed", "fuzz-yoga", "fuzz-salon"
SEED_MEMBER_CODE = "881234567890123456"       # a code that names nobody: a check-in with it changes nothing
NOW = datetime(2026, 1, 15, 10, 0, tzinfo=MALL_TZ)    # the ManualClock's start
MAX_AMOUNT = 500_000                       # the default program's largest purchase
_timestamps = itertools.count()


class Raw(str):
    """JSON text written as it is: numbers JSON allows that Python does not make (1e999999, 12.0051)."""


def to_json(value) -> bytes:
    def mark(item):
        if isinstance(item, Raw):
            return f"\u0000{item}\u0000"
        if isinstance(item, dict):
            return {key: mark(inner) for key, inner in item.items() if inner is not MISSING}
        if isinstance(item, list):
            return [mark(inner) for inner in item]
        return item
    text = json.dumps(mark(value), allow_nan=True, ensure_ascii=False)
    return re.sub(r'"\\u0000(.*?)\\u0000"', r"\1", text).encode()


# -- hostile values ---------------------------------------------------------------------------------------
LONG_TEXTS = st.sampled_from(["x" * 5000, "长" * 2000, "é" * 5000, " " * 70 + "T1"]) | \
    st.integers(65, 500).map(lambda n: "k" * n)
TEXTS = st.text(max_size=24) | LONG_TEXTS | st.sampled_from(
    ["", " ", "NaN", "Infinity", "-Infinity", "null", "0", "-1", "1e999999", "\u0000", "{m:1}", "../..", "😀" * 30,
     "١٢٣", "１２３.４５"])
SEGMENTS = st.text(max_size=40) | st.sampled_from(["", " ", ".", "..", "%", "{m:1}", "😀" * 30, "K7QH-3WXN-9PZD-R",
                                                   "100001", "k" * 500])     # path segments: a URL line has 8 KiB
HUGE = st.integers(1, 400).map(lambda digits: 10**digits) | st.sampled_from([2**63, 2**64 + 1, 10**30 + 1])
NUMBERS = st.one_of(
    st.integers(-10**40, 10**40), HUGE, HUGE.map(lambda n: -n), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Raw("1e999999"), Raw("-1e999999"), Raw("1E+30"), Raw("1e-999999"), Raw("-0.0"), Raw("12.0051")]))
JSON = st.recursive(st.none() | st.booleans() | NUMBERS | TEXTS,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=10)
NOT_TEXT = JSON.filter(lambda value: not isinstance(value, str))
NOT_OBJECT = JSON.filter(lambda value: not isinstance(value, dict))
REF = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
AMOUNT_TEXT = re.compile(r"\d{1,12}(\.\d{1,2})?")        # the shape fields.amount accepts (its \d is Unicode's)

BAD_REF = st.just(MISSING) | NOT_TEXT | LONG_TEXTS | st.text(min_size=1, max_size=20).filter(
    lambda text: not REF.fullmatch(text.strip()))
BAD_TEXT = st.just(MISSING) | NOT_TEXT | LONG_TEXTS | st.sampled_from(["", "   ", "\t"])
BAD_OPTIONAL_TEXT = NOT_TEXT.filter(lambda value: value is not None) | LONG_TEXTS
BAD_AMOUNT = st.one_of(
    st.just(MISSING), st.none(), st.booleans(), st.lists(NUMBERS, max_size=2),
    st.dictionaries(TEXTS, NUMBERS, max_size=2),
    TEXTS.filter(lambda text: not AMOUNT_TEXT.fullmatch(text.strip())),
    st.sampled_from(["0", "0.00", "500000.01", "999999999999", float("nan"), float("inf"), -math.inf]),
    st.integers(-10**40, 0), st.integers(MAX_AMOUNT + 1, 10**40), HUGE.filter(lambda n: n > MAX_AMOUNT),
    st.builds(lambda whole, cents: Raw(f"{whole}.{cents:03d}1"), st.integers(0, 10**6), st.integers(0, 999)),
    st.sampled_from([Raw("1e999999"), Raw("1E+30"), Raw("-1e-5"), Raw("1e-999999"), Raw("0e0")]))


def outside_the_till_window(text: str) -> bool:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return True
    moment = moment if moment.tzinfo else moment.replace(tzinfo=MALL_TZ)
    return not NOW - timedelta(days=400) < moment < NOW + timedelta(days=1)


FAR_MOMENTS = st.datetimes(max_value=datetime(2020, 12, 31)) | st.datetimes(min_value=datetime(2030, 1, 1))
BAD_TIME = st.one_of(
    st.just(MISSING), NOT_TEXT, TEXTS.filter(outside_the_till_window),
    st.builds(lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), FAR_MOMENTS, st.none() | st.timezones()),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", "2026-01-15T10:00:00+99:00"]))


def bad_member(accepts: tuple[str, ...], refused: str, seed: dict) -> st.SearchStrategy:
    """A member object the endpoint must refuse, or one that names nobody (which changes nothing either)."""
    nobody = TEXTS.filter(lambda text: text.strip() not in (SEED_OPENID, seed["member_id"]))
    return st.one_of(
        st.just(MISSING), NOT_OBJECT, st.just({}), st.builds(lambda value: {refused: value}, TEXTS),
        st.builds(lambda kind, value: {kind: value}, st.sampled_from(accepts), nobody | NOT_TEXT),
        st.builds(lambda other: {"openid": SEED_OPENID, accepts[1]: other}, TEXTS.filter(str.strip)))


def not_one_of(*allowed: str) -> st.SearchStrategy:
    return st.just(MISSING) | NOT_TEXT | TEXTS.filter(lambda text: text.strip() not in allowed)


# The program file's rules (loyalty_core/program.py), which the admin API's definitions follow: texts have no
# length limit there, money is a number from 0 to 1,000,000 with at most 2 decimals, unknown keys are refused.
DEFINITION_BAD_TEXT = st.just(MISSING) | NOT_TEXT | st.sampled_from(["", "   ", "\t"])
BAD_IDENT = DEFINITION_BAD_TEXT | TEXTS.filter(lambda text: not re.fullmatch(r"[\w.-]{1,48}", text.strip(), re.ASCII))
BAD_MONEY = st.sampled_from([MISSING, -1, "-1", "abc", True, [], {}, "1.001", 10**7, "NaN", "Infinity", None])
BAD_INT = st.just(MISSING) | NOT_TEXT.filter(lambda value: not isinstance(value, int) or isinstance(value, bool)) \
    | TEXTS | st.integers(-10**40, -1) | st.integers(10**9, 10**40)
BAD_TEXTS = NOT_OBJECT.filter(lambda value: not isinstance(value, list)
                              or not all(isinstance(v, str) and v.strip() for v in value))
BAD_BIRTHDAY = st.just(MISSING) | NOT_TEXT | TEXTS.filter(lambda text: not re.match(r"\s*\d{4}-", text)) | \
    st.sampled_from(["1990-02-30", "1990-13-01", "2999-05-20", "1990/05/20", "", "1990-05-20T00:00"])


# -- the endpoints ----------------------------------------------------------------------------------------
@dataclass
class Part:
    valid: st.SearchStrategy
    invalid: st.SearchStrategy                   # values the endpoint must refuse (MISSING: left out)


def fixed(value) -> st.SearchStrategy:
    return st.just(value)


@dataclass
class Endpoint:
    method: str
    path: str                                    # the route's canonical path
    params: dict[str, Part] = field(default_factory=dict)
    body: dict[str, Part] = field(default_factory=dict)
    query: dict[str, st.SearchStrategy] = field(default_factory=dict)
    definition: bool = False                     # unknown keys are refused
    empty_is_valid: bool = False                 # every body field is optional: `{}` is a whole request

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


OPTIONAL_TEXT = Part(st.just(MISSING) | st.sampled_from(["", "dining", "S01"]), BAD_OPTIONAL_TEXT)
BASKET = {"amount": Part(fixed("250.00"), BAD_AMOUNT), "category": OPTIONAL_TEXT, "store_id": OPTIONAL_TEXT}
ITEMS = Part(st.just(MISSING) | fixed([{"sku": "A1", "price": "250.00", "quantity": 1, "category": "dining"}]),
             st.one_of(NOT_OBJECT.filter(lambda value: value not in (None, [])), fixed([{"sku": "A1"}] * 201),
                       st.lists(NOT_OBJECT, min_size=1, max_size=3),
                       st.builds(lambda sku, price, quantity: [{"sku": sku, "price": price, "quantity": quantity}],
                                 BAD_TEXT, BAD_AMOUNT, BAD_INT)))
TEMPLATE = {"id": Part(fixed("fuzz-template"), BAD_IDENT), "title": Part(fixed("满200减30"), DEFINITION_BAD_TEXT),
            "kind": Part(fixed("threshold"), not_one_of(*COUPON_KINDS)), "value": Part(fixed("30"), BAD_MONEY),
            "min_amount": Part(fixed("200"), BAD_MONEY.filter(lambda value: value not in (MISSING, None))),
            "valid_days": Part(fixed(30), BAD_INT), "categories": Part(fixed(["dining"]), BAD_TEXTS)}
ITEM = {"id": Part(fixed("fuzz-item"), BAD_IDENT), "title": Part(fixed("帆布袋"), DEFINITION_BAD_TEXT),
        "points": Part(fixed(100), BAD_INT), "kind": Part(fixed("voucher"), not_one_of(*ITEM_KINDS)),
        "voucher": Part(fixed("帆布袋一个"), NOT_TEXT.filter(lambda value: value is not None)),
        "stock": Part(st.just(MISSING) | fixed(5), BAD_INT.filter(lambda value: value not in (MISSING, None)))}
BIRTHDAY = {"calendar": Part(fixed("solar"), not_one_of("solar", "lunar")),
            "date": Part(fixed("1990-05-20"), BAD_BIRTHDAY), "reason": Part(fixed("证件核对"), BAD_TEXT),
            "staff_id": Part(fixed("S007"), BAD_TEXT), "request_id": Part(fixed("fuzz-1"), BAD_REF)}


BAD_POINTS = st.one_of(st.just(MISSING), st.none(), st.booleans(), TEXTS, st.floats(allow_nan=True),
                       st.integers(-10**40, 99), st.integers(10**12 + 1, 10**40), st.integers(301, 10**12),
                       st.sampled_from([Raw("1e999999"), Raw("100.5"), Raw("1E+3")]))    # the seed member has 200
BAD_OPTIONAL_AMOUNT = BAD_AMOUNT.filter(lambda value: value not in (MISSING, None, "")) | \
    st.sampled_from(["1.00", "0.50"])                     # a basket whose half is under the 100 points paid
BAD_OPTIONAL_REF = NOT_TEXT.filter(lambda value: value is not None) | LONG_TEXTS | \
    st.text(min_size=1, max_size=20).filter(lambda text: text.strip() and not REF.fullmatch(text.strip()))
MEMBER_QUERY = {name: st.just(MISSING) | TEXTS for name in ("openid", "phone", "member_code")}
SEED_PAYMENT, SEED_VOUCHER = "P-seed", "ABCDE-FGHJK"
SEGMENT_KEYS = ("tiers", "lifecycle", "communities", "preferred_category", "spend_level", "spend_12m_min",
                "spend_12m_max", "balance_min", "balance_max", "birthday_month", "days_since_purchase_min",
                "days_since_purchase_max", "joined_within_days", "purchases_12m_min", "holds_coupon_template",
                "lacks_coupon_template")
BAD_SEGMENT = st.one_of(
    NOT_OBJECT, st.dictionaries(st.text(max_size=8).map(lambda key: f"x_{key}"), JSON, min_size=1, max_size=2),
    st.builds(lambda key, value: {key: value}, st.sampled_from(SEGMENT_KEYS[:5]), NOT_OBJECT.filter(
        lambda value: not isinstance(value, list) and value is not None) | st.lists(NOT_TEXT, min_size=1, max_size=2)),
    st.builds(lambda key, value: {key: value}, st.sampled_from(SEGMENT_KEYS[5:14]),
              st.integers(-10**40, -1) | st.sampled_from([10**13, 10**30, 2**64, "abc", [], {}, True, "NaN",
                                                          Raw("1e999999"), Raw("-0.5")])),
    st.sampled_from([{"tiers": ["silver"]}, {"lifecycle": ["asleep"]}, {"spend_level": ["huge"]},
                     {"birthday_month": 13}, {"holds_coupon_template": "nope"}, {"lacks_coupon_template": "nope"},
                     {"tiers": []}]))
VARIANTS = [{"name": "A", "weight": Raw("0.5"), "text": "{{ member.tier_name }}专享：{{ coupon.title }}",
             "coupon_template": "tea-bogo"}, {"name": "B", "weight": Raw("0.5"), "text": "您好"}]
BAD_VARIANTS = st.just(MISSING) | NOT_OBJECT.filter(lambda value: not isinstance(value, list)) | st.sampled_from([
    [], [1], ["A"], [None], [VARIANTS[0] | {"weight": Raw("0.7")}, VARIANTS[1]], [VARIANTS[0] | {"weight": 0}, VARIANTS[1]],
    [VARIANTS[0] | {"weight": "abc"}, VARIANTS[1]], [VARIANTS[0] | {"weight": Raw("1e999999")}, VARIANTS[1]],
    [VARIANTS[0] | {"text": "{{ member.nope }}"}, VARIANTS[1]], [VARIANTS[0] | {"text": "{{ coupon.title "}, VARIANTS[1]],
    [VARIANTS[0] | {"text": "{{ ''.__class__.__mro__ }}"}, VARIANTS[1]], [VARIANTS[0] | {"text": ""}, VARIANTS[1]],
    [VARIANTS[0] | {"text": "x" * 2001}, VARIANTS[1]], [VARIANTS[0] | {"text": 5}, VARIANTS[1]],
    [VARIANTS[0] | {"coupon_template": "nope"}, VARIANTS[1]], [VARIANTS[0] | {"coupon_template": 7}, VARIANTS[1]],
    [VARIANTS[0] | {"name": "B"}, VARIANTS[1]], [VARIANTS[0] | {"name": "holdout"}, VARIANTS[1]],
    [VARIANTS[0] | {"name": "a b"}, VARIANTS[1]], [VARIANTS[0] | {"extra": 1}, VARIANTS[1]],
    [{k: v for k, v in VARIANTS[0].items() if k != "text"}, VARIANTS[1]]])
CAMPAIGN = {
    "campaign_id": Part(fixed("fuzz-campaign"), BAD_IDENT), "name": Part(fixed("春季"), DEFINITION_BAD_TEXT),
    "kind": Part(fixed("marketing"), not_one_of("marketing")), "segment": Part(fixed({"tiers": ["gold"]}), BAD_SEGMENT),
    "variants": Part(fixed(VARIANTS), BAD_VARIANTS),
    "holdout": Part(fixed(Raw("0.1")), BAD_MONEY.filter(lambda value: value is not MISSING) | st.sampled_from(
        [Raw("0.51"), 1, Raw("-0.1")])),
    "send_at": Part(st.just(None) | fixed("2026-02-01T10:00:00+08:00"), NOT_TEXT.filter(lambda value: value is not None)
                    | TEXTS.filter(lambda text: not re.match(r"\s*\d{4}-\d\d-\d\dT.*[+-]\d\d:\d\d\s*$", text))),
    "repeat": Part(st.just(None) | fixed("0 10 * * *"), NOT_TEXT.filter(lambda value: value is not None)
                   | st.sampled_from(["61 10 * * *", "0 25 * * *", "0 10 * *", "x 10 * * *", "0 10 30 2 *",
                                      "every monday", "0 10 * * * * *"])),
    "channels": Part(fixed({"mass_send": False}), NOT_OBJECT.filter(lambda value: value is not None) | st.builds(
        lambda value: {"mass_send": value}, NOT_TEXT.filter(lambda value: not isinstance(value, bool)))
        | st.just({"mass": True})),
    "conversion_days": Part(fixed(14), BAD_INT.filter(lambda value: value is not MISSING) | st.just(0) | st.just(366))}


def endpoints(seed: dict) -> list[Endpoint]:
    """`seed`: the coupon code and member id the fixture made, so that broken requests reach them."""
    code = {"code": Part(fixed(seed["code"]), SEGMENTS.filter(lambda text: text.strip() != seed["code"]))}
    member_id = {"member_id": Part(fixed(seed["member_id"]),
                                  SEGMENTS.filter(lambda text: text.strip() != seed["member_id"]))}
    campaign = {"campaign_id": Part(fixed(seed["campaign_id"]),
                                    SEGMENTS.filter(lambda text: text.strip() != seed["campaign_id"]))}
    nothing = {"campaign_id": Part(SEGMENTS, SEGMENTS)}        # no campaign to read: a GET of one would answer it
    till_member = bad_member(("openid", "phone", "member_code"), "member_id", seed)
    staff_member = bad_member(("openid", "phone", "member_id"), "member_code", seed)
    return [
        Endpoint("POST", "/api/v1/purchases", body={
            "txn_id": Part(fixed("T-fuzz"), BAD_REF),
            "member": Part(fixed({"openid": SEED_OPENID}), till_member.filter(lambda value: value is not None)),
            "amount": Part(fixed("100.00"), BAD_AMOUNT), "occurred_at": Part(fixed(NOW.isoformat()), BAD_TIME),
            "category": OPTIONAL_TEXT, "store_id": OPTIONAL_TEXT}),
        Endpoint("POST", "/api/v1/refunds", body={
            "refund_id": Part(fixed("R-fuzz"), BAD_REF), "txn_id": Part(fixed(SEED_TXN), BAD_REF),
            "amount": Part(fixed("1.00"), BAD_AMOUNT)}),
        Endpoint("GET", "/api/v1/coupons/{code}", params=code,
                 query={name: st.just(MISSING) | TEXTS for name in ("amount", "category", "store_id")}),
        Endpoint("POST", "/api/v1/coupons/{code}/redeem", params=code,
                 body={"txn_id": Part(fixed("T-coupon"), BAD_REF), "items": ITEMS} | BASKET),
        Endpoint("POST", "/api/v1/points/redemptions", body={
            "redemption_id": Part(fixed("P-fuzz"), BAD_REF), "member": Part(fixed({"openid": SEED_OPENID}), till_member),
            "points": Part(fixed(100), BAD_POINTS), "txn_id": Part(fixed("T-pay"), BAD_REF),
            "store_id": OPTIONAL_TEXT, "amount": Part(st.just(MISSING) | fixed("250.00"), BAD_OPTIONAL_AMOUNT)}),
        Endpoint("POST", "/api/v1/points/redemptions/{redemption_id}/reverse", params={"redemption_id": Part(
            fixed(SEED_PAYMENT), SEGMENTS.filter(lambda text: text.strip() != SEED_PAYMENT))},
            body={"reason": Part(fixed("sale cancelled"), BAD_TEXT)}),
        Endpoint("GET", "/api/v1/points/quote", query=MEMBER_QUERY | {"amount": st.just(MISSING) | TEXTS}),
        Endpoint("GET", "/api/v1/members/lookup", query=MEMBER_QUERY),
        Endpoint("POST", "/api/v1/vouchers/{code}/collect", params={"code": Part(
            fixed(SEED_VOUCHER), SEGMENTS.filter(lambda text: text.strip().upper() != SEED_VOUCHER))},
            body={"desk_id": Part(fixed("DESK-1"), BAD_REF), "staff_id": Part(fixed("S007"), BAD_REF),
                  "request_id": Part(st.just(MISSING) | fixed("C-fuzz"), BAD_OPTIONAL_REF)}),
        Endpoint("GET", "/api/v1/join-code", query={"txn_id": st.just(MISSING) | TEXTS | fixed(SEED_TXN)}),
        Endpoint("GET", "/api/v1/admin/sales", query={"date": st.just(MISSING) | TEXTS}),
        Endpoint("POST", "/api/v1/admin/coupon-templates", body=TEMPLATE, definition=True),
        Endpoint("POST", "/api/v1/admin/catalogue-items", body=ITEM, definition=True),
        Endpoint("POST", "/api/v1/admin/coupons", body={
            "member": Part(fixed({"openid": SEED_OPENID}), staff_member),
            "template_id": Part(fixed("dining-200-30"), BAD_TEXT), "issue_key": Part(fixed("fuzz-1"), BAD_REF)}),
        Endpoint("POST", "/api/v1/admin/coupons/{code}/revoke", params=code,
                 body={"reason": Part(fixed("发放错误"), BAD_TEXT)}),
        Endpoint("POST", "/api/v1/admin/members/{member_id}/birthday", params=member_id, body=BIRTHDAY),
        Endpoint("GET", "/api/v1/admin/members/{member_id}/deliveries", params=member_id,
                 query={"limit": st.just(MISSING) | TEXTS}),
        Endpoint("POST", "/api/v1/admin/segments/preview", body={"segment": Part(fixed({"tiers": ["gold"]}),
                                                                                 BAD_SEGMENT)}, definition=True),
        Endpoint("POST", "/api/v1/admin/campaigns", body=CAMPAIGN, definition=True),
        Endpoint("POST", "/api/v1/admin/campaigns/{campaign_id}/cancel", params=campaign,
                 body={"reason": Part(fixed("文案有误"), BAD_TEXT)}),
        Endpoint("GET", "/api/v1/admin/campaigns/{campaign_id}", params=nothing),
        Endpoint("GET", "/api/v1/admin/campaigns/{campaign_id}/results", params=nothing),
        Endpoint("GET", "/api/v1/admin/metrics", query={"days": TEXTS.filter(            # the only part: broken
            lambda text: not (text.isascii() and text.isdigit() and 1 <= int(text) <= 400)) | st.sampled_from(
                ["0", "401", "-1", "30.5", "1e3"])}),
        *community_endpoints(seed),
    ]


COMMUNITY_NAME_BAD = DEFINITION_BAD_TEXT | st.sampled_from(["12", "٣", "x" * 31, "长" * 31])


def community_endpoints(seed: dict) -> list[Endpoint]:
    community = {"community_id": Part(fixed(SEED_COMMUNITY), SEGMENTS.filter(lambda text: text != SEED_COMMUNITY))}
    nobody = TEXTS.filter(lambda text: text.strip() != SEED_OPENID)
    return [
        Endpoint("POST", "/api/v1/admin/communities", definition=True, body={
            "community_id": Part(fixed("fuzz-club"), BAD_IDENT), "name": Part(fixed("品酒会"), COMMUNITY_NAME_BAD),
            "description": Part(st.just(MISSING) | fixed("每月一次"),
                                NOT_TEXT | st.integers(201, 400).map(lambda n: "长" * n))}),
        Endpoint("POST", "/api/v1/admin/communities/{community_id}/managers", params=community, definition=True,
                 body={"openid": Part(fixed(SEED_OPENID), BAD_TEXT | nobody)}),
        Endpoint("GET", "/api/v1/admin/communities/{community_id}", params=community),
        Endpoint("GET", "/api/v1/admin/broadcasts/{broadcast_id}", params={"broadcast_id": Part(
            fixed("b000000000000"), SEGMENTS)}),                    # no broadcast is seeded: every id is 404
        *event_endpoints(),
        Endpoint("GET", "/api/v1/admin/suggestions", query={"limit": TEXTS.filter(    # no path to fuzz: a bad limit
            lambda text: not (text.isascii() and text.isdigit() and 1 <= int(text) <= 100))}),
        Endpoint("GET", "/api/v1/admin/surveys/stores/{store_id}", params={"store_id": Part(   # a store is any id:
            BAD_STORE, BAD_STORE)}),                                                         # only a bad one is 4xx
    ]


BAD_STORE = SEGMENTS.filter(lambda text: text not in ("", ".", "..") and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", text))
BAD_EVENT_TIME = st.one_of(
    st.just(MISSING), NOT_TEXT, TEXTS.filter(lambda text: not re.match(r"\s*\d{4}-", text)),
    st.builds(lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), FAR_MOMENTS, st.none() | st.timezones()),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", "2026-01-15T10:00:00+99:00",
                     (NOW - timedelta(hours=1)).isoformat(), "2026-02-30T10:00:00"]))


def longer_than(limit: int) -> st.SearchStrategy:
    """Texts an event refuses: none, empty, or longer than its limit (spaces and all)."""
    return DEFINITION_BAD_TEXT | st.integers(limit + 1, limit + 200).map(lambda n: "长" * n) | \
        st.just(" " * limit + "T1")


def event_endpoints() -> list[Endpoint]:
    event = {"event_id": Part(fixed(SEED_EVENT), SEGMENTS.filter(lambda text: text != SEED_EVENT))}
    starts = NOW + timedelta(days=3)
    moment = lambda at: Part(fixed(at.isoformat()), BAD_EVENT_TIME)  # noqa: E731
    return [
        Endpoint("POST", "/api/v1/admin/events", definition=True, body={
            "event_id": Part(fixed("fuzz-event"), BAD_IDENT), "title": Part(fixed("品酒会"), longer_than(64)),
            "starts_at": moment(starts), "ends_at": moment(starts + timedelta(hours=2)),
            "place": Part(fixed("中庭"), longer_than(100)), "capacity": Part(fixed(50), BAD_INT | st.just(0)),
            "community_id": Part(st.none() | fixed(SEED_COMMUNITY), NOT_TEXT.filter(lambda v: v is not None)
                                 | st.sampled_from(["nope", "", "瑜伽"])),
            "min_tier": Part(st.none() | fixed("gold"), not_one_of("member", "gold", "platinum", "diamond")
                             .filter(lambda v: v is not None and v is not MISSING)),
            "priority_tiers_hours": Part(st.just(MISSING) | fixed({"diamond": 48}),
                                         st.sampled_from([{"diamond": 0}, {"gold": -1}, {"nope": 2}, [], "48",
                                                          {"diamond": 10**9}, {"diamond": True}])),
            "signup_deadline": Part(st.just(MISSING) | fixed((starts - timedelta(hours=1)).isoformat()),
                                    BAD_EVENT_TIME.filter(lambda v: v is not MISSING and v is not None)),
            "notes": Part(st.just(MISSING) | fixed("请着正装"), NOT_TEXT.filter(lambda v: v is not None)
                          | st.integers(501, 600).map(lambda n: "长" * n))}),
        Endpoint("GET", "/api/v1/admin/events/{event_id}", params=event),
        Endpoint("POST", "/api/v1/admin/events/{event_id}/check-ins", params=event, definition=True,
                 body={"member_code": Part(fixed(SEED_MEMBER_CODE), BAD_TEXT | TEXTS)}),
        Endpoint("POST", "/api/v1/admin/events/{event_id}/invitations", params=event, definition=True,
                 body={"segment": Part(st.just(MISSING) | fixed({"tiers": ["gold"]}), BAD_SEGMENT)},
                 empty_is_valid=True),
    ]


ENDPOINT_KEYS = [endpoint.key for endpoint in endpoints({"code": "", "member_id": "", "campaign_id": ""})]


@dataclass
class Request:
    method: str
    path: str
    body: bytes = b""


def junk_bodies(endpoint: Endpoint) -> st.SearchStrategy:
    """Bodies that are no request at all: not JSON, not an object, or an object of none of the fields (and so
    never `{}` where that is the whole request)."""
    needs_fields = endpoint.body and not endpoint.empty_is_valid
    unrelated = st.dictionaries(st.text(max_size=8).map(lambda key: f"x_{key}"), JSON,
                                min_size=0 if needs_fields else 1, max_size=4)
    raw = st.binary(max_size=64) if needs_fields else st.binary(max_size=64).filter(lambda body: not _empty_object(body))
    return raw | NOT_OBJECT.map(to_json) | unrelated.map(to_json)


def _empty_object(body: bytes) -> bool:
    try:
        return json.loads(body) == {}
    except ValueError:
        return False


@st.composite
def requests_to(draw, endpoint: Endpoint) -> Request:
    read_only = endpoint.method == "GET"
    breakable = [("param", name) for name in endpoint.params] + [("body", name) for name in endpoint.body]
    breakable += [("extra", "")] if endpoint.definition else []
    broken = set() if read_only else draw(st.sets(st.sampled_from(breakable), min_size=1, max_size=2))
    params = {name: draw(part.invalid if ("param", name) in broken or (read_only and draw(st.booleans()))
                         else part.valid) for name, part in endpoint.params.items()}
    path = endpoint.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
    if read_only:
        query = {name: value for name, strategy in endpoint.query.items() if (value := draw(strategy)) is not MISSING}
        return Request("GET", f"{path}?{urllib.parse.urlencode(query)}" if query else path)
    if draw(st.integers(0, 9)) == 0:
        return Request(endpoint.method, path, draw(junk_bodies(endpoint)))
    body = {name: draw(part.invalid if ("body", name) in broken else part.valid)
            for name, part in endpoint.body.items()}
    extra = draw(st.dictionaries(st.text(max_size=8).map(lambda key: f"x_{key}"), JSON,
                                 min_size=1 if ("extra", "") in broken else 0, max_size=3))
    return Request(endpoint.method, path, to_json({k: v for k, v in body.items() if v is not MISSING} | extra))


# -- the run ----------------------------------------------------------------------------------------------
@dataclass(repr=False)
class Seeded:
    till: Till
    endpoints: dict[str, Endpoint]

    def __repr__(self) -> str:          # hypothesis shows the arguments of a failing example: keep it short
        return f"<{len(self.endpoints)} endpoints>"


@pytest.fixture
async def seeded(start_bot, clock, redis) -> Seeded:
    """A member with a purchase and a coupon, for the broken requests to aim at."""
    till = Till(await start_bot(), clock)
    member_id = (await till.services.members.follow(SEED_OPENID, f"evt:{SEED_OPENID}")).member_id
    assert (await till.purchase({"openid": SEED_OPENID}, "300.00", txn_id=SEED_TXN)).status == 200
    coupon = await till.services.coupons.issue(member_id, "dining-200-30", "seed")
    paid = await till.post("/api/v1/points/redemptions", {"redemption_id": SEED_PAYMENT, "member": {
        "openid": SEED_OPENID}, "points": 100, "txn_id": SEED_TXN, "store_id": "S01"})
    assert paid.status == 200
    await redis.set(keys.gift_voucher(SEED_VOUCHER), json.dumps({"member_id": member_id, "title": "生日蛋糕兑换券",
                                                                 "source": "birthday", "valid_until": "2026-12-31"}))
    communities = RedisCommunityStore(till.services.redis, till.services.scripts)
    await communities.save(SEED_COMMUNITY, "fuzz-seed-community", "", 101, 100)
    await till.services.events.publish({"event_id": SEED_EVENT, "title": "沙龙", "place": "中庭", "capacity": 5,
                                        "starts_at": (NOW + timedelta(days=3)).isoformat(),
                                        "ends_at": (NOW + timedelta(days=3, hours=2)).isoformat()})
    campaign = {"campaign_id": "fuzz-seed", "name": "种子", "kind": "marketing", "segment": {},
                "variants": [{"name": "A", "weight": 1, "text": "您好"}], "send_at": "2026-03-01T10:00:00+08:00"}
    await till.services.campaigns.create(campaign)
    seed = {"code": coupon.grouped, "member_id": member_id, "campaign_id": campaign["campaign_id"]}
    return Seeded(till, {endpoint.key: endpoint for endpoint in endpoints(seed)})


def api_routes(till: Till) -> dict[str, object]:
    """Each endpoint of the running app's /api/v1, "METHOD path" -> handler (a HEAD is its GET)."""
    found = {}
    for resource in till.client.server.app.router.resources():
        subapp = resource.get_info().get("app") if resource.get_info().get("prefix") == "/api/v1" else None
        for route in subapp.router.routes() if subapp is not None else ():
            if route.method != "HEAD":
                found[f"{route.method} {route.resource.canonical}"] = route.handler
    return found


async def test_every_endpoint_of_the_route_table_has_a_fuzz_strategy(seeded):
    routes = set(api_routes(seeded.till))
    assert routes - set(ENDPOINT_KEYS) == set(), "endpoints without a fuzz strategy"
    assert set(ENDPOINT_KEYS) - routes == set(), "fuzz strategies of endpoints that are gone"


async def send(till: Till, request: Request, secret: str) -> tuple[int, dict]:
    """The status and the JSON error (empty when aiohttp itself refused a request line it cannot read)."""
    timestamp = str(int(time.time()) - next(_timestamps) % 250)       # its own signature, so no replay refusals
    headers = {"Content-Type": "application/json", "X-Timestamp": timestamp,
               "X-Signature": sign(secret, timestamp, request.body)}
    response = await till.client.request(request.method, request.path, data=request.body, headers=headers)
    try:
        error = json.loads(await response.read())["error"]
    except (ValueError, KeyError, TypeError):
        error = {}
    return response.status, error


# No example database: the strategies aim at what each run's fixture made (a fresh coupon code among them), so an
# example saved by another run does not replay as the same request and hypothesis reports it as flaky.
@pytest.mark.parametrize("key", ENDPOINT_KEYS)
@settings(max_examples=200, database=None)
@given(data=st.data())
async def test_fuzzed_requests_are_refused_and_change_nothing(seeded, redis, key, data):
    secret = POS_SECRET if TILL <= scopes_reaching(api_routes(seeded.till)[key]) else ADMIN_SECRET
    request = data.draw(requests_to(seeded.endpoints[key]))
    before = await snapshot(redis)
    status, error = await send(seeded.till, request, secret)
    event(f"{status} {error.get('code', '')}")     # --hypothesis-show-statistics: how far the requests got
    if request.method == "GET" and status == 200:     # every part of a GET is drawn, valid ones too: a read
        assert await snapshot(redis) == before
        return
    assert 400 <= status < 500, (status, error)
    assert error.get("code") not in {"unauthorized", "bad_signature", "forbidden"}, error    # signed right
    assert not error or error["message"]
    assert await snapshot(redis) == before
