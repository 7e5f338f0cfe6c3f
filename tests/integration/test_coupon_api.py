"""/api/v1/coupons at the till and /api/v1/admin for staff: check, use once, every refusal with its
reason, a mistyped code refused before any Redis command, and templates/items/coupons made by staff."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from decimal import Decimal

import orjson
import pytest

from aiohttp.test_utils import TestClient, TestServer

from bot.api.auth import sign
from bot.app import create_app
from bot.embedded_redis import EmbeddedRedis
from loyalty_core import coupon_codes, errors, keys
from loyalty_core.coupon_rules import Basket
from loyalty_core.program import parse_coupon_template
from tests.fixtures_bot import bot_settings
from tests.integration.till import Till, snapshot

DINING = {"amount": "250.00", "category": "dining", "store_id": "S01"}


@pytest.fixture
async def till(start_bot, redis, clock) -> Till:
    return Till(await start_bot(), clock)


async def issue(till: Till, openid: str, template_id: str = "dining-200-30", nth: int = 1) -> str:
    member_id = (await till.services.members.follow(openid, f"join:{openid}")).member_id
    coupon = await till.services.coupons.issue(member_id, template_id, f"test:{openid}:{template_id}:{nth}")
    return coupon.grouped


def typo(code: str) -> str:
    """The code with its 6th character changed to another one of the alphabet."""
    raw = code.replace("-", "")
    other = next(c for c in coupon_codes.ALPHABET if c != raw[5])
    return raw[:5] + other + raw[6:]


async def get(till: Till, code: str, **query) -> tuple[int, dict]:
    path = f"/api/v1/coupons/{code}"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    answer = await till.get(path)
    return answer.status, answer.json


async def use(till: Till, code: str, txn_id: str, **basket):
    return await till.post(f"/api/v1/coupons/{code}/redeem", {"txn_id": txn_id} | (basket or DINING))


async def test_a_coupon_is_checked_then_used_once_at_the_till(till, redis):
    code = await issue(till, "o_ann")
    status, checked = await get(till, code, **DINING)
    assert status == 200 and checked["applies"] is True and checked["discount"] == "30.00"
    assert checked["reason"] is None and checked["kind"] == "threshold" and checked["code"] == code.replace("-", "")
    assert checked["expires_at"].startswith("2026-02-15T00:00:00")
    status, low = await get(till, code.lower(), amount="150.00", category="dining")
    assert (status, low["applies"], low["discount"], low["reason"]) == (200, False, "0.00", "below_threshold")

    ts = int(time.time())
    first = await till.post(f"/api/v1/coupons/{code}/redeem", {"txn_id": "T-1"} | DINING, timestamp=ts)
    assert first.status == 200 and first.json["discount"] == "30.00" and first.json["txn_id"] == "T-1"
    again = await till.post(f"/api/v1/coupons/{code.replace('-', ' ')}/redeem", {"txn_id": "T-1"} | DINING,
                            timestamp=ts - 1)                   # a retry signed anew may spell the code otherwise
    assert (again.status, again.json) == (200, first.json)                       # the same txn: the first answer
    other = await use(till, code, "T-2")
    assert (other.status, other.error) == (409, "already_used")
    status, after = await get(till, code, **DINING)
    assert (after["applies"], after["reason"], after["status"]) == (False, "already_used", "used")
    # One use, one event. The relay is at least once: the losers' relays of the member's outbox may copy the
    # winner's event too before it is deleted, and consumers drop the copies by event_id.
    used = [f for _, f in await redis.xrange(keys.OUTBOX_STREAM) if f["type"] == "coupon_used"]
    assert len(used) >= 1 and len({(f["event_id"], f["event"]) for f in used}) == 1


async def test_a_check_without_a_basket_judges_the_coupon_alone(till):
    code = await issue(till, "o_bea")
    status, checked = await get(till, code)
    assert status == 200 and checked["applies"] is True and checked["discount"] is None


@pytest.mark.parametrize("case, basket, reason", [
    ("below the threshold", {"amount": "199.99", "category": "dining", "store_id": "S02"}, "below_threshold"),
    ("another category", {"amount": "500.00", "category": "fashion", "store_id": "S01"}, "wrong_category"),
    ("another store", {"amount": "500.00", "category": "dining", "store_id": "S09"}, "wrong_store"),
    ("expired", DINING, "expired"),
    ("revoked", DINING, "revoked"),
])
async def test_a_coupon_that_does_not_apply_is_422_with_its_reason_and_changes_nothing(till, redis, clock, case,
                                                                                       basket, reason):
    await till.services.coupons.create_template(_template(stores=["S01", "S02"]))
    code = await issue(till, "o_cy", "dining-s01")
    if case == "expired":
        clock.advance(days=31)
    if case == "revoked":
        revoked = await till.admin.post(f"/api/v1/admin/coupons/{code}/revoke", {"reason": "发放错误"})
        assert revoked.status == 200 and revoked.json["status"] == "revoked"
    before = await snapshot(redis)
    answer = await use(till, code, "T-x", **basket)
    assert (answer.status, answer.error) == (422, reason)
    assert await snapshot(redis) == before


def _template(**changes):
    return parse_coupon_template({"id": "dining-s01", "title": "餐饮券", "kind": "threshold", "min_amount": "200",
                                  "value": "30", "categories": ["dining"], "valid_days": 30} | changes)


async def test_an_unknown_code_is_404_and_a_malformed_one_422(till):
    unknown = coupon_codes.new_code()
    assert (await use(till, unknown, "T-1")).error == "unknown_coupon"
    assert (await use(till, unknown, "T-1")).status == 404
    bad = await use(till, "K7QH-3WXN", "T-2")            # (the same body on another path would be a replay)
    assert (bad.status, bad.error) == (422, "bad_code_format")
    assert (await use(till, unknown, "T-1", amount="-3")).error == "invalid_amount"


async def test_a_mistyped_code_is_refused_before_any_redis_command(clock, tmp_path):
    with EmbeddedRedis(tmp_path / "private", appendonly=False) as server:    # no other client counts here
        client = TestClient(TestServer(create_app(bot_settings(server.url), clock=clock)))
        await client.start_server()
        try:
            await refused_without_a_command(Till(client, clock))
        finally:
            await client.close()


async def refused_without_a_command(till: Till) -> None:
    code = await issue(till, "o_dee")
    assert (await get(till, code, **DINING))[0] == 200                       # connections open, scripts loaded
    assert (await use(till, typo(code), "T-0")).status == 422                 # the signature script loaded too
    before = await command_counts(till)
    status, checked = await get(till, typo(code), **DINING)
    assert await command_counts(till) == before                               # not one command reached Redis
    used = await use(till, typo(code), "T-1")
    binding_only = {"cmdstat_evalsha": 1, "cmdstat_get": 1, "cmdstat_set": 1}   # the signature's binding script
    assert changed_counts(before, await command_counts(till)) == binding_only
    assert (status, checked["error"]["code"]) == (422, "bad_code_checksum")
    assert (used.status, used.error) == (422, "bad_code_checksum")
    assert "check the code" in used.json["error"]["message"]
    assert (await use(till, coupon_codes.new_code(), "T-2")).status == 404
    assert await command_counts(till) != before                              # the counters do see a lookup


async def command_counts(till: Till) -> dict:
    stats = await till.services.redis.info("commandstats")
    return {name: value["calls"] for name, value in stats.items() if name != "cmdstat_info"}


def changed_counts(before: dict, after: dict) -> dict:
    return {name: calls - before.get(name, 0) for name, calls in after.items() if calls != before.get(name, 0)}


async def test_staff_create_a_template_and_an_item_issue_a_coupon_and_it_is_redeemed(till):
    template = {"id": "spring-50", "title": "春季满300减50", "kind": "threshold", "min_amount": "300", "value": 50,
                "stores": ["S01"], "valid_until": "2026-03-31", "total_limit": 2}
    created = await till.admin.post("/api/v1/admin/coupon-templates", template)
    assert created.status == 201 and created.json["template"]["value"] == "50.00"
    assert (await till.admin.post("/api/v1/admin/coupon-templates", template)).error == "already_exists"
    wrong = await till.admin.post("/api/v1/admin/coupon-templates", template | {"id": "x", "kind": "discount"})
    assert (wrong.status, wrong.error) == (422, "invalid_definition") and "kind" in wrong.json["error"]["message"]
    item = {"id": "spring", "title": "春季满300减50", "points": 300, "kind": "coupon", "template": "spring-50",
            "stock": 2}
    assert (await till.admin.post("/api/v1/admin/catalogue-items", item)).status == 201
    unknown_template = await till.admin.post("/api/v1/admin/catalogue-items", item | {"id": "s2", "template": "nope"})
    assert unknown_template.status == 404

    member_id = (await till.services.members.follow("o_eli", "join:o_eli")).member_id
    body = {"member": {"openid": "o_eli"}, "template_id": "spring-50", "issue_key": "crm-1"}
    issued = await till.admin.post("/api/v1/admin/coupons", body)
    assert issued.status == 201 and issued.json["terms"] == "满300减50，限S01门店，至3月31日"
    assert (await till.admin.post("/api/v1/admin/coupons", body)).json["code"] == issued.json["code"]   # idempotent
    await till.services.points.grant(member_id, 1000, "test", "seed:eli")
    redemption = await till.services.redemption.redeem(member_id, "spring", "redeem-eli-1")
    assert redemption.outcome.title == "春季满300减50"                               # the item, bought with points
    third = await till.admin.post("/api/v1/admin/coupons", body | {"issue_key": "crm-3"})
    assert (third.status, third.error) == (409, "issue_limit_reached")                 # total limit 2

    code = issued.json["grouped"]
    assert (await use(till, code, "T-9", amount="300.00", store_id="S02")).error == "wrong_store"
    used = await use(till, code, "T-9", amount="300.00", store_id="S01")
    assert used.status == 200 and used.json["discount"] == "50.00"


async def test_limits_hold_when_many_issues_race(till, redis):
    await till.services.coupons.create_template(_template(id="scarce", total_limit=5, per_member_limit=2))
    members = [(await till.services.members.follow(f"o_r{n}", f"j{n}")).member_id for n in range(10)]
    attempts = [till.services.coupons.issue(m, "scarce", f"k:{m}:{k}") for m in members for k in range(3)]
    attempts += [till.services.coupons.issue(members[0], "scarce", f"k:{members[0]}:0") for _ in range(5)]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    issued = {r.code for r in results if not isinstance(r, Exception)}
    refusals = {type(r) for r in results if isinstance(r, Exception)}
    assert len(issued) <= 5 and refusals <= {errors.CouponIssueLimit, errors.CouponMemberLimit}
    # A claim taken back after a member's refusal may have turned others away meanwhile: the limit is
    # never passed; what is left is issued to the next ones who ask.
    for n, member_id in enumerate(members):
        try:
            issued.add((await till.services.coupons.issue(member_id, "scarce", f"again:{n}")).code)
        except (errors.CouponIssueLimit, errors.CouponMemberLimit):
            pass
    assert len(issued) == 5
    assert await redis.hget(keys.coupon_template_issued("scarce"), "count") == "5"
    held = [len(await till.services.coupons.wallet(m)) for m in members]
    assert sum(held) == 5 and max(held) <= 2
    for code in issued:
        assert await redis.get(keys.coupon_index(code)) in members


async def test_a_batch_issue_keeps_the_limits_and_a_second_batch_replays_the_first(till, redis):
    coupons = till.services.coupons
    scarce = await coupons.create_template(_template(id="batch", total_limit=5, per_member_limit=1))
    solo = await coupons.create_template(_template(id="solo", per_member_limit=1))
    members = [(await till.services.members.follow(f"o_b{n}", f"jb{n}")).member_id for n in range(7)]
    wanted = [(m, f"batch:{m}") for m in members]
    first = await coupons.issue_many(scarce, wanted, source="campaign:batch")
    issued = {m: r for m, r in zip(members, first) if not isinstance(r, Exception)}
    assert len(issued) == 5 and [type(r) for r in first].count(errors.CouponIssueLimit) == 2
    assert all(r.member_id == m and r.source == "campaign:batch" for m, r in issued.items())
    again = await coupons.issue_many(scarce, wanted)
    assert {m: r.code for m, r in zip(members, again) if not isinstance(r, Exception)} == \
        {m: r.code for m, r in issued.items()}
    assert await redis.hget(keys.coupon_template_issued("batch"), "count") == "5"
    for member_id in members:
        assert {c.code for c in await coupons.wallet(member_id)} == ({issued[member_id].code} if member_id in issued
                                                                      else set())
    held = await coupons.issue(members[0], "solo", "earlier")
    [refused, given] = await coupons.issue_many(solo, [(members[0], "solo:0"), (members[1], "solo:1")])
    assert isinstance(refused, errors.CouponMemberLimit) and given.member_id == members[1]
    in_expiry_index = sum([await redis.zcard(keys.coupon_expiry_index(p)) for p in range(keys.COUPON_EXPIRY_PARTITIONS)])
    assert in_expiry_index == 7 and held.code != given.code


async def test_a_total_limit_holds_for_members_issued_under_one_shared_issue_key(till, redis):
    coupons = till.services.coupons
    await coupons.create_template(_template(id="few", total_limit=3))
    scarce = await coupons.create_template(_template(id="few-batch", total_limit=3))
    members = [(await till.services.members.follow(f"o_s{n}", f"js{n}")).member_id for n in range(5)]
    one_by_one = await asyncio.gather(*(coupons.issue(m, "few", "campaign:spring") for m in members),
                                      return_exceptions=True)
    batch = await coupons.issue_many(scarce, [(m, "campaign:autumn") for m in members])
    for template_id, results in (("few", one_by_one), ("few-batch", batch)):
        assert [type(r) for r in results].count(errors.CouponIssueLimit) == 2
        assert await redis.hget(keys.coupon_template_issued(template_id), "count") == "3"
    held = [c.template.id for m in members for c in await coupons.wallet(m)]
    assert sorted(held) == ["few"] * 3 + ["few-batch"] * 3


async def test_the_expiry_job_visits_only_due_coupons(till, redis, clock):
    await till.services.coupons.create_template(_template(id="short", valid_days=0))
    member_id = (await till.services.members.follow("o_fox", "join:o_fox")).member_id
    short = await till.services.coupons.issue(member_id, "short", "k1")
    long = await till.services.coupons.issue(member_id, "dining-200-30", "k2")
    assert await till.services.coupons.expire_due() == 0
    clock.advance(days=1)
    assert [c.code for c in await till.services.coupons.wallet(member_id)] == [long.code]
    assert await till.services.coupons.expire_due() == 1
    assert await till.services.coupons.expire_due() == 0
    assert sum([await redis.zcard(keys.coupon_expiry_index(p)) for p in range(keys.COUPON_EXPIRY_PARTITIONS)]) == 1
    check = await till.services.coupons.check(short.code, Basket(Decimal("300"), "dining"))
    assert check.evaluation.reason == "expired" and check.coupon.status == "expired"
    assert clock.now() - short.issued_at == timedelta(days=1)


async def test_a_repeated_issue_gets_the_first_coupon_even_after_the_template_closed(till, clock):
    await till.services.coupons.create_template(_template(id="january", valid_days=None, valid_until="2026-01-31"))
    body = {"member": {"openid": "o_gil"}, "template_id": "january", "issue_key": "crm-7"}
    await till.services.members.follow("o_gil", "join:o_gil")
    first = await till.admin.post("/api/v1/admin/coupons", body)
    assert first.status == 201
    clock.advance(days=20)                                       # the template's window is over
    again = await till.admin.post("/api/v1/admin/coupons", body)
    assert (again.status, again.json["code"]) == (201, first.json["code"])
    assert (await till.admin.post("/api/v1/admin/coupons", body | {"issue_key": "crm-8"})).error == "template_closed"


async def test_concurrent_uses_at_the_till_use_a_coupon_once(till, redis):
    code = await issue(till, "o_hen")
    others = await asyncio.gather(*(use(till, code, f"T-{n}") for n in range(8)))
    assert sorted(answer.status for answer in others) == [200] + [409] * 7
    [winner] = [answer for answer in others if answer.status == 200]
    repeats = await asyncio.gather(*(use(till, code, winner.json["txn_id"]) for _ in range(4)))
    assert all((answer.status, answer.json) == (200, winner.json) for answer in repeats)
    # One use, one event. The relay is at least once: the losers' relays of the member's outbox may copy the
    # winner's event too before it is deleted, and consumers drop the copies by event_id.
    used = [f for _, f in await redis.xrange(keys.OUTBOX_STREAM) if f["type"] == "coupon_used"]
    assert len(used) >= 1 and len({(f["event_id"], f["event"]) for f in used}) == 1


async def test_a_failure_at_the_till_is_logged_without_the_coupon_code(till, redis, caplog):
    code = await issue(till, "o_ida")
    member_id = await till.services.members.member_id_for_openid("o_ida")
    raw = code.replace("-", "")
    await redis.hset(keys.member_coupons(member_id), raw, "{damaged")      # a record no reader can parse
    with caplog.at_level("ERROR"):
        answer = await use(till, code, "T-1")
    assert (answer.status, answer.error) == (500, "internal_error")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "coupons/{code}/redeem" in logged and raw not in logged and code not in logged


@pytest.mark.parametrize("basket", [{"amount": 10**30}, {"amount": "250.00", "items": [
    {"sku": "A1", "price": 10**30, "quantity": 1, "category": "dining"}]}], ids=["amount", "item price"])
async def test_a_huge_json_number_in_a_basket_is_a_clear_refusal(till, redis, basket):
    code = await issue(till, "o_jo")
    before = await snapshot(redis)
    body = json.dumps({"txn_id": "T-huge", "category": "dining"} | basket).encode()   # orjson stops at 64 bits
    answer = await till.post(f"/api/v1/coupons/{code}/redeem", body)
    assert (answer.status, answer.error) == (422, "invalid_amount")
    assert "at most 500000" in answer.json["error"]["message"]
    assert await snapshot(redis) == before


# -- a signature is bound to the request it was made for ----------------------------------------------------
async def test_one_transaction_may_use_two_coupons_with_one_body_but_not_replay_it_elsewhere(till, redis):
    first_coupon, second_coupon = await issue(till, "o_kim"), await issue(till, "o_kim", "dining-200-30", nth=2)
    assert first_coupon != second_coupon
    body, ts = {"txn_id": "T-kim"} | DINING, int(time.time())
    first = await till.post(f"/api/v1/coupons/{first_coupon}/redeem", body, timestamp=ts)
    second = await till.post(f"/api/v1/coupons/{second_coupon}/redeem", body, timestamp=ts)  # same basket
    assert (first.status, second.status) == (200, 200) and first.json["code"] != second.json["code"]
    before = await snapshot(redis)
    signature = sign(till.secret, ts, orjson.dumps(body))
    elsewhere = [await till.post(f"/api/v1/admin/coupons/{first_coupon}/revoke", body, timestamp=ts),
                 await till.post("/api/v1/refunds", body, timestamp=ts, signature=signature.upper())]
    assert [(a.status, a.error) for a in elsewhere] == [(403, "forbidden"), (401, "replayed_signature")]
    assert await snapshot(redis) == before
    retried = await till.post(f"/api/v1/coupons/{first_coupon}/redeem", body, timestamp=ts)   # the till's retry
    assert (retried.status, retried.json) == (200, first.json)


async def test_a_revoke_needs_a_body_so_a_checks_signature_cannot_revoke(till, redis):
    code = await issue(till, "o_max")
    ts = str(int(time.time()))
    check_signature = sign(till.secret, ts, b"")                 # what every GET of this second carries
    checked = await till.client.get(f"/api/v1/coupons/{code}",
                                    headers={"X-Timestamp": ts, "X-Signature": check_signature})
    assert checked.status == 200
    before = await snapshot(redis)
    revoke = f"/api/v1/admin/coupons/{code}/revoke"
    refused = await till.post(revoke, b"", timestamp=ts, signature=check_signature)
    assert (refused.status, refused.error) == (403, "forbidden")           # the till secret does not reach it
    admin_ts = str(int(time.time()))
    empty = await till.admin.post(revoke, b"", timestamp=admin_ts, signature=sign(till.admin.secret, admin_ts, b""))
    assert (empty.status, empty.error) == (422, "invalid_request")         # nor does any empty body
    assert await snapshot(redis) == before
    no_reason = await till.admin.post(revoke, {})
    assert (no_reason.status, no_reason.error) == (422, "invalid_request")
    assert (await get(till, code))[1]["status"] == "issued"
    revoked = await till.admin.post(revoke, {"reason": "发放错误"})
    assert (revoked.status, revoked.json["status"]) == (200, "revoked")
