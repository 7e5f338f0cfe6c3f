"""POST /api/v1/purchases and /api/v1/refunds as a till uses them: HMAC, exactly once, every refusal."""
from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import timedelta
from decimal import Decimal

import orjson
import pytest

from bot.api.auth import sign
from loyalty_core import keys
from loyalty_core.members import MemberService
from loyalty_core.redis_store.members import RedisMemberStore
from tests.fixtures_bot import CapturingSms
from tests.integration.till import Till, new_txn_id, snapshot


@pytest.fixture
async def till(start_bot, clock) -> Till:
    return Till(await start_bot(), clock)


async def join(till: Till, openid: str) -> str:
    return (await till.services.members.follow(openid, f"evt:{openid}")).member_id


async def bind_phone(till: Till, member_id: str, phone: str) -> None:
    services, sms = till.services, CapturingSms()
    members = MemberService(RedisMemberStore(services.redis, services.scripts, services.outbox), services.pii, sms,
                            services.clock)
    await members.request_phone_code(member_id, phone)
    await members.verify_phone(member_id, sms.codes[phone])


# -- purchases --------------------------------------------------------------------------------------
async def test_a_purchase_earns_points_and_answers_balance_and_tier(till, redis):
    member_id = await join(till, "o_ann")
    answer = await till.purchase({"openid": "o_ann"}, "1234.50")
    assert answer.status == 200
    assert answer.json == {"member_id": member_id, "points_earned": 1234, "balance": 1234, "tier": "member"}
    types = [fields["type"] for _, fields in await redis.xrange(keys.OUTBOX_STREAM)]
    assert types.count("points_earned") == 1 and types.count("first_purchase") == 1


async def test_500_concurrent_purchases_for_one_member_add_up_exactly(till, redis):
    member_id = await join(till, "o_busy")
    amounts = [Decimal(f"{i % 97 + 1}.{i % 100:02d}") for i in range(500)]   # under Gold in total
    answers = await asyncio.gather(*(till.purchase({"openid": "o_busy"}, str(a)) for a in amounts))
    assert {a.status for a in answers} == {200}
    assert sum(a.json["points_earned"] for a in answers) == sum(int(a) for a in amounts)
    summary = await till.services.points.summary(member_id, till.clock.now())
    assert summary.balance == sum(int(a) for a in amounts)
    assert await redis.llen(keys.points_history(member_id)) == 500
    assert await redis.hlen(keys.member_purchases(member_id)) == 500


async def test_100_purchases_each_sent_three_times_at_once_count_once(till):
    member_id = await join(till, "o_retry")
    bodies = [till.purchase_body({"openid": "o_retry"}, f"{10 + i}.00") for i in range(100)]
    answers = await asyncio.gather(*(till.post("/api/v1/purchases", body) for body in bodies for _ in range(3)))
    for i in range(100):
        sent_thrice = answers[3 * i:3 * i + 3]
        assert all(a.status == 200 for a in sent_thrice) and len({str(a.json) for a in sent_thrice}) == 1
    balance = (await till.services.points.summary(member_id, till.clock.now())).balance
    assert balance == sum(10 + i for i in range(100))


async def test_the_same_body_again_gets_the_first_answer_and_a_changed_body_a_409(till, redis):
    await join(till, "o_bob")
    body = till.purchase_body({"openid": "o_bob"}, "100.00")
    first = await till.post("/api/v1/purchases", body)
    await till.purchase({"openid": "o_bob"}, "50.00")                     # the balance moves on
    again = await till.post("/api/v1/purchases", body | {"amount": "100"})  # same purchase, spelled differently
    assert (again.status, again.json) == (first.status, first.json)
    before = await snapshot(redis)
    changed = await till.post("/api/v1/purchases", body | {"amount": "101.00"})
    assert (changed.status, changed.error) == (409, "txn_conflict")
    assert await snapshot(redis) == before


async def test_members_are_found_by_openid_phone_or_member_code(till, clock):
    member_id = await join(till, "o_cat")
    await bind_phone(till, member_id, "13800138000")
    by_phone = await till.purchase({"phone": "+86 138-0013-8000"}, "10.00")
    code = await till.services.member_codes.issue(member_id)
    by_code = await till.purchase({"member_code": code.code}, "20.00")
    assert (by_phone.status, by_phone.json["member_id"]) == (200, member_id)
    assert (by_code.status, by_code.json["member_id"], by_code.json["balance"]) == (200, member_id, 30)


async def test_a_member_code_is_used_once_and_only_while_valid(till, clock):
    member_id = await join(till, "o_dan")
    code = (await till.services.member_codes.issue(member_id)).code
    body = till.purchase_body({"member_code": code}, "20.00")
    assert (await till.post("/api/v1/purchases", body)).status == 200
    second = await till.purchase({"member_code": code}, "30.00")
    assert (second.status, second.error) == (404, "invalid_member_code")
    clock.advance(minutes=10)                                          # the till retries after the code expired
    assert (await till.post("/api/v1/purchases", body)).json["balance"] == 20
    late = (await till.services.member_codes.issue(member_id)).code
    clock.advance(minutes=5, seconds=1)
    expired = await till.purchase({"member_code": late}, "30.00")
    assert (expired.status, expired.error) == (404, "invalid_member_code")


# -- refunds ----------------------------------------------------------------------------------------
async def test_partial_refunds_take_back_points_in_proportion_once(till):
    member_id = await join(till, "o_eve")
    txn = new_txn_id()
    await till.purchase({"openid": "o_eve"}, "100.00", txn_id=txn)
    first = await till.refund(txn, "33.33", refund_id="R-eve-1")
    assert first.status == 200
    assert first.json == {"member_id": member_id, "refund_id": "R-eve-1", "txn_id": txn, "points_reversed": 33,
                          "balance": 67, "debt": 0, "tier": "member"}
    assert (await till.refund(txn, "33.33", refund_id="R-eve-1")).json == first.json     # a retry
    second = await till.refund(txn, "33.33")
    third = await till.refund(txn, "33.34")
    assert [second.json["points_reversed"], third.json["points_reversed"]] == [33, 34]
    assert third.json["balance"] == 0


async def test_a_refund_of_points_already_spent_becomes_debt_that_the_next_purchase_repays(till):
    member_id = await join(till, "o_fay")
    txn = new_txn_id()
    await till.purchase({"openid": "o_fay"}, "1000.00", txn_id=txn)
    await till.services.points.spend(member_id, 900, "redeem-1")
    refunded = await till.refund(txn, "1000.00")
    assert (refunded.json["balance"], refunded.json["debt"]) == (0, 900)
    repaid = await till.purchase({"openid": "o_fay"}, "1200.00")
    assert (repaid.json["points_earned"], repaid.json["balance"]) == (1200, 300)
    summary = await till.services.points.summary(member_id, till.clock.now())
    assert (summary.balance, summary.debt) == (300, 0)


# -- every refusal, with nothing changed ------------------------------------------------------------
SIX_MINUTES_AHEAD = "six minutes ahead"
PURCHASE_REFUSALS = [
    # (case, body changes, post keyword arguments, status, error code)
    ("bad signature", {}, {"signature": "0" * 64}, 401, "bad_signature"),
    ("no signature", {}, {"signature": ""}, 401, "bad_signature"),
    ("stale timestamp", {}, {"timestamp_offset": -301}, 401, "stale_timestamp"),
    ("timestamp ahead", {}, {"timestamp_offset": 301}, 401, "stale_timestamp"),
    ("timestamp not a number", {}, {"timestamp": "yesterday"}, 401, "unauthorized"),
    ("timestamp of non-ASCII digits", {}, {"timestamp": "²"}, 401, "unauthorized"),
    ("signature of non-ASCII letters", {}, {"signature": "é" * 64}, 401, "bad_signature"),
    ("zero amount", {"amount": "0"}, {}, 422, "invalid_amount"),
    ("negative amount", {"amount": "-5.00"}, {}, 422, "invalid_amount"),
    ("three decimals", {"amount": "12.345"}, {}, 422, "invalid_amount"),
    ("three decimals as a number", {"amount": Decimal("12.345")}, {}, 422, "invalid_amount"),
    ("exponent", {"amount": "1e3"}, {}, 422, "invalid_amount"),
    ("NaN text", {"amount": "NaN"}, {}, 422, "invalid_amount"),
    ("Infinity text", {"amount": "Infinity"}, {}, 422, "invalid_amount"),
    ("above the maximum", {"amount": "500000.01"}, {}, 422, "invalid_amount"),
    ("a JSON integer of 31 digits", {"amount": 10**30}, {}, 422, "invalid_amount"),
    ("a JSON number with a huge exponent", {"amount": Decimal("1E+999999")}, {}, 422, "invalid_amount"),
    ("a boolean", {"amount": True}, {}, 422, "invalid_amount"),
    ("a list", {"amount": [12]}, {}, 422, "invalid_amount"),
    ("no amount", {"amount": None}, {}, 422, "invalid_request"),
    ("no txn_id", {"txn_id": None}, {}, 422, "invalid_request"),
    ("txn_id with spaces", {"txn_id": "T 1"}, {}, 422, "invalid_request"),
    ("no member", {"member": None}, {}, 422, "invalid_request"),
    ("two ways to name the member", {"member": {"openid": "o_gus", "phone": "13800138000"}}, {}, 422,
     "invalid_request"),
    ("no occurred_at", {"occurred_at": None}, {}, 422, "invalid_request"),
    ("occurred_at not a time", {"occurred_at": "last tuesday"}, {}, 422, "invalid_time"),
    ("occurred_at 6 minutes ahead", {"occurred_at": SIX_MINUTES_AHEAD}, {}, 422, "invalid_time"),
    ("unknown openid", {"member": {"openid": "o_nobody"}}, {}, 404, "unknown_member"),
    ("unknown phone", {"member": {"phone": "13900139000"}}, {}, 404, "unknown_member"),
    ("bad phone", {"member": {"phone": "12345"}}, {}, 422, "invalid_phone"),
    ("unknown member code", {"member": {"member_code": "881234567890123456"}}, {}, 404, "invalid_member_code"),
    ("txn_id reused for another purchase", {"txn_id": "T-used", "amount": "99.00"}, {}, 409, "txn_conflict"),
]


@pytest.mark.parametrize("case, changes, post_options, status, code", PURCHASE_REFUSALS,
                         ids=[c[0] for c in PURCHASE_REFUSALS])
async def test_a_refused_purchase_changes_nothing(till, redis, clock, case, changes, post_options, status, code):
    await join(till, "o_gus")
    await till.purchase({"openid": "o_gus"}, "10.00", txn_id="T-used")
    body = till.purchase_body({"openid": "o_gus"}, "25.00")
    for key, value in changes.items():
        if value is None:
            del body[key]
        elif value == SIX_MINUTES_AHEAD:
            body[key] = (clock.now() + timedelta(minutes=6)).isoformat()
        else:
            body[key] = value
    if "timestamp_offset" in post_options:
        post_options = {"timestamp": int(time.time()) + post_options["timestamp_offset"]}
    before = await snapshot(redis)
    answer = await till.post("/api/v1/purchases", raw_json(body), **post_options)
    assert (answer.status, answer.error) == (status, code)
    assert answer.json["error"]["message"]
    assert await snapshot(redis) == before


@pytest.mark.parametrize("raw, status, code", [
    (b"{not json", 422, "invalid_request"),
    (b"[1, 2]", 422, "invalid_request"),
    (b'{"txn_id": "T-nan", "member": {"openid": "o_gus"}, "amount": NaN, "occurred_at": "2026-01-15T10:00:00"}',
     422, "invalid_amount"),
    (b'{"txn_id": "T-inf", "member": {"openid": "o_gus"}, "amount": Infinity, "occurred_at": "2026-01-15T10:00:00"}',
     422, "invalid_amount"),
    (b"\xff\xfe", 422, "invalid_request"),
    (b"[" * 5000 + b"]" * 5000, 422, "invalid_request"),
    (b'{"pad": "' + b"x" * (17 * 1024) + b'"}', 413, "body_too_large"),
], ids=["broken JSON", "not an object", "NaN", "Infinity", "not UTF-8", "nested 5000 deep", "17 KiB"])
async def test_a_body_that_cannot_be_read_changes_nothing(till, redis, raw, status, code):
    await join(till, "o_gus")
    before = await snapshot(redis)
    answer = await till.post("/api/v1/purchases", raw)
    assert (answer.status, answer.error) == (status, code)
    assert await snapshot(redis) == before


async def test_refused_refunds_change_nothing(till, redis):
    await join(till, "o_hal")
    txn = new_txn_id()
    await till.purchase({"openid": "o_hal"}, "100.00", txn_id=txn)
    await till.refund(txn, "60.00", refund_id="R-hal")
    before = await snapshot(redis)
    refusals = [
        (await till.refund("T-unknown", "1.00"), 404, "unknown_txn"),
        (await till.refund(txn, "40.01"), 409, "refund_exceeds_purchase"),
        (await till.refund(txn, "10.00", refund_id="R-hal"), 409, "refund_conflict"),
        (await till.refund(txn, "0"), 422, "invalid_amount"),
        (await till.refund(txn, "1.001"), 422, "invalid_amount"),
        (await till.post("/api/v1/refunds", {"refund_id": "R-x", "amount": "1.00"}), 422, "invalid_request"),
        (await till.post("/api/v1/refunds", {"refund_id": "R-y", "txn_id": txn, "amount": "1.00"},
                         signature="f" * 64), 401, "bad_signature"),
    ]
    assert [(a.status, a.error) for a, _, _ in refusals] == [(s, c) for _, s, c in refusals]
    assert await snapshot(redis) == before


# -- a signature is bound to the request it was made for ----------------------------------------------
async def test_a_purchase_signature_answers_its_retries_and_nothing_else(till, redis):
    await join(till, "o_ivy")
    body, ts = till.purchase_body({"openid": "o_ivy"}, "10.00"), int(time.time())
    first = await till.post("/api/v1/purchases", body, timestamp=ts)
    retried = await till.post("/api/v1/purchases", body, timestamp=ts)        # the till did not hear the answer
    assert first.status == 200 and (retried.status, retried.json) == (200, first.json)
    before = await snapshot(redis)
    signature = sign(till.secret, ts, orjson.dumps(body))
    replays = [await till.post("/api/v1/purchases?store_id=S09", body, timestamp=ts),
               await till.post("/api/v1/refunds", body, timestamp=ts),
               await till.post("/api/v1/purchases/", body, timestamp=ts, signature=signature.upper())]
    assert [(a.status, a.error) for a in replays] == [(401, "replayed_signature")] * 3
    assert await snapshot(redis) == before


@pytest.mark.parametrize("path", ["/api/v1/purchases", "/api/v1/refunds", "/api/v1/admin/coupons"])
async def test_a_post_without_a_body_is_refused_before_anything_is_read(till, redis, path):
    before = await snapshot(redis)
    answer = await (till.admin if "/admin/" in path else till).post(path, b"")
    assert (answer.status, answer.error) == (422, "invalid_request")
    assert answer.json["error"]["message"] == "a POST must carry a JSON body"
    assert await snapshot(redis) == before


def raw_json(body: dict) -> bytes:
    """JSON in which Decimal values are numbers (12.345), as a till might send them."""
    text = json.dumps(body, default=lambda value: f"__number__{value}")
    return re.sub(r'"__number__([^"]*)"', r"\1", text).encode()
