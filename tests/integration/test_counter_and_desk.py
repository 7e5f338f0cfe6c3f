"""The member at the counter (GET /api/v1/members/lookup) and the service desk (POST /api/v1/vouchers/{code}/collect)
as a till and a desk use them: the tier and its benefits without using up a member code, a gift voucher handed
over once, and `python -m bot till --collect/--lookup` building the signed requests."""
from __future__ import annotations

import argparse
import urllib.parse
from datetime import datetime

import pytest

from bot.api.till_client import add_till_arguments, till_request
from loyalty_core.clock import MALL_TZ
from tests.integration.till import Till, snapshot

JUNE_3 = datetime(2026, 6, 3, 10, 0, tzinfo=MALL_TZ)


@pytest.fixture
async def till(start_bot, clock) -> Till:
    clock.set(JUNE_3)
    return Till(await start_bot(), clock)


async def member(till: Till, openid: str, spend: str, birthday: str = "", nickname: str = "") -> str:
    services = till.services
    member_id = (await services.members.follow(openid, f"evt:{openid}")).member_id
    if nickname:
        await services.redis.hset(f"{{m:{member_id}}}:profile", "nickname", nickname)
    assert (await till.purchase({"openid": openid}, spend)).status == 200
    if birthday:
        proposal = await services.birthdays.propose(member_id, birthday, "solar")
        await services.birthdays.confirm(member_id, proposal.sealed, f"test-{member_id}")
    return member_id


async def test_the_counter_sees_a_diamonds_tier_benefits_and_birthday_without_using_the_code(till, redis):
    member_id = await member(till, "o_dia", "210000.00", birthday="1980-06-20", nickname="王芳芳")
    code = await till.services.member_codes.issue(member_id)
    before = await snapshot(redis)
    found = await till.get(f"/api/v1/members/lookup?member_code={code.code}")
    assert await snapshot(redis) == before
    assert found.status == 200
    assert found.json["member_id"] == member_id and found.json["tier"] == "diamond"
    assert found.json["tier_name"] == "钻石卡" and found.json["display_name"] == "王**"
    assert found.json["birthday_this_month"] is True
    diamond = till.services.program.tier("diamond")
    assert set(diamond.benefits) <= set(found.json["benefits"])
    purchase = await till.purchase({"member_code": code.code}, "88.00")
    assert purchase.status == 200 and purchase.json["member_id"] == member_id     # the code still serves


async def test_a_lookup_by_phone_or_openid_and_the_refusals(till, redis):
    member_id = await member(till, "o_plain", "10.00", birthday="1990-09-01")
    found = await till.get("/api/v1/members/lookup?openid=o_plain")
    assert found.status == 200
    assert (found.json["tier"], found.json["birthday_this_month"]) == ("member", False)
    assert found.json["display_name"] == f"会员 {member_id[:2]}**{member_id[-2:]}"
    for query, status, code in [("", 422, "invalid_request"), ("openid=o_nobody", 404, "unknown_member"),
                                ("member_code=881234567890123456", 404, "invalid_member_code"),
                                ("openid=o_plain&phone=13800138000", 422, "invalid_request"),
                                ("member_id=" + member_id, 422, "invalid_request")]:
        answer = await till.get(f"/api/v1/members/lookup?{query}")
        assert (answer.status, answer.error) == (status, code), query


async def test_a_birthday_voucher_is_collected_at_the_desk_once(till, redis):
    member_id = await member(till, "o_cake", "120000.00", birthday="1990-06-15")
    claim = await till.services.birthdays.claim_gift(member_id)
    code = claim.voucher_code
    body = {"desk_id": "DESK-1", "staff_id": "S007", "request_id": "C-1"}
    first = await till.post(f"/api/v1/vouchers/{code}/collect", body)
    assert first.status == 200
    assert first.json | {"collected_at": ""} == {"code": code, "gift": "生日蛋糕兑换券", "source": "birthday",
                                                 "member_id": member_id, "collected_at": "", "desk_id": "DESK-1",
                                                 "staff_id": "S007"}
    again = await till.post(f"/api/v1/vouchers/{code}/collect", body)
    assert again.status == 200 and again.json == first.json                  # the same request: the first answer
    before = await snapshot(redis)
    second = await till.post(f"/api/v1/vouchers/{code}/collect", body | {"request_id": "C-2"})
    assert (second.status, second.error) == (409, "already_used")
    assert first.json["collected_at"] in second.json["error"]["message"]
    assert await snapshot(redis) == before


async def test_a_birthday_voucher_past_its_last_day_or_unknown_is_refused(till, redis, clock):
    member_id = await member(till, "o_late", "120000.00", birthday="1990-06-15")
    code = (await till.services.birthdays.claim_gift(member_id)).voucher_code
    clock.set(datetime(2026, 7, 4, 10, 0, tzinfo=MALL_TZ))                   # valid until 3 July
    before = await snapshot(redis)
    late = await till.post(f"/api/v1/vouchers/{code}/collect", {"desk_id": "D1", "staff_id": "S1"})
    assert (late.status, late.error) == (422, "expired")
    unknown = await till.post("/api/v1/vouchers/ABCDE-FGHJK/collect", {"desk_id": "D1", "staff_id": "S2"})
    assert (unknown.status, unknown.error) == (404, "unknown_voucher")
    assert await snapshot(redis) == before


async def test_a_catalogue_voucher_is_collected_once_and_a_till_coupon_is_not_a_voucher(till, redis):
    member_id = await member(till, "o_bag", "10.00")
    services = till.services
    from loyalty_core.coupon_rules import CouponTemplate
    bag = CouponTemplate(id="item-bag", title="品牌帆布袋", kind="voucher", gift="品牌帆布袋一个", valid_days=30)
    voucher = await services.coupons.issue_template(member_id, bag, "redeem:R-bag", source="redeem:bag")
    first = await till.post(f"/api/v1/vouchers/{voucher.grouped}/collect", {"desk_id": "D1", "staff_id": "S1"})
    assert first.status == 200
    assert (first.json["gift"], first.json["source"], first.json["member_id"]) == ("品牌帆布袋一个", "catalogue",
                                                                                   member_id)
    second = await till.post(f"/api/v1/vouchers/{voucher.grouped}/collect", {"desk_id": "D2", "staff_id": "S2"})
    assert (second.status, second.error) == (409, "already_used")
    coupon = await services.coupons.issue(member_id, "dining-200-30", "not-a-voucher")
    before = await snapshot(redis)
    refused = await till.post(f"/api/v1/vouchers/{coupon.grouped}/collect", {"desk_id": "D3", "staff_id": "S3"})
    assert (refused.status, refused.error) == (422, "not_a_voucher")
    assert await snapshot(redis) == before


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_till_arguments(parser)
    return parser.parse_args(argv)


def test_the_till_command_builds_the_desk_and_counter_requests():
    path, body = till_request(parsed("--collect", "ABCDE-FGHJK", "--desk", "DESK-1", "--staff", "S007"))
    assert path == "/api/v1/vouchers/ABCDE-FGHJK/collect"
    assert body["desk_id"] == "DESK-1" and body["staff_id"] == "S007" and body["request_id"]
    path, body = till_request(parsed("--lookup", "--phone", "13800138000"))
    assert (urllib.parse.urlsplit(path).path, body) == ("/api/v1/members/lookup", {})
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(path).query) == {"phone": ["13800138000"]}


def test_the_till_command_builds_the_points_and_walk_in_requests_and_keeps_its_old_ones():
    path, body = till_request(parsed("--pay-points", "500", "--openid", "o_li", "--amount", "88", "--txn", "POS-1"))
    assert path == "/api/v1/points/redemptions"
    assert body | {"redemption_id": ""} == {"redemption_id": "", "member": {"openid": "o_li"}, "points": 500,
                                            "txn_id": "POS-1", "amount": "88"}
    path, body = till_request(parsed("--quote", "--code", "881234567890123456", "--amount", "88"))
    assert (path, body) == ("/api/v1/points/quote?member_code=881234567890123456&amount=88", {})
    assert till_request(parsed("--reverse-points", "P1")) == ("/api/v1/points/redemptions/P1/reverse",
                                                              {"reason": "sale cancelled"})
    path, body = till_request(parsed("--walk-in", "--amount", "199", "--txn", "W-1", "--store", "S01"))
    assert path == "/api/v1/purchases" and body["member"] is None and (body["txn_id"], body["store_id"]) == ("W-1", "S01")
    assert till_request(parsed("--join-code", "W-1")) == ("/api/v1/join-code?txn_id=W-1", {})
    path, body = till_request(parsed("--openid", "o_li", "--amount", "199"))
    assert path == "/api/v1/purchases" and body["member"] == {"openid": "o_li"} and body["amount"] == "199"
    assert till_request(parsed("--refund", "T1", "--amount", "20", "--txn", "R1")) == (
        "/api/v1/refunds", {"refund_id": "R1", "txn_id": "T1", "amount": "20"})
    with pytest.raises(SystemExit, match="--amount is required"):
        till_request(parsed("--openid", "o_li"))
