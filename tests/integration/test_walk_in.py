"""Walk-in sales with the bot and the WeChat sandbox together: an anonymous sale at the till, its receipt's join
QR code scanned by a new follower (one member, credited once), the same code scanned by someone else (refused
with the reason), the day's member share per store, and every refusal changing nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app_keys import SERVICES
from loyalty_core import keys
from loyalty_core.walk_in import join_token
from tests.fixtures_bot import Wired, reply_text
from tests.integration.till import Till, new_txn_id, snapshot


class Shop:
    def __init__(self, wired: Wired, clock):
        self.wired = wired
        self.till = Till(wired.bot, clock)
        self.services = wired.bot.server.app[SERVICES]

    async def walk_in(self, amount: str, txn_id: str | None = None, **extra):
        return await self.till.purchase(None, amount, txn_id, **extra)

    async def scan_in(self, nickname: str, ticket: str) -> tuple[str, str, str]:
        persona = await self.wired.wechat.add_member(nickname=nickname)
        outcome = await self.wired.wechat.scan(persona["openid"], ticket=ticket)
        await self.wired.drain()
        member_id = await self.services.members.member_id_for_openid(persona["openid"])
        return persona["openid"], member_id, reply_text(outcome)

    async def chat(self, openid: str) -> str:
        return "\n".join(str(m) for m in await self.wired.wechat.messages(openid))

    async def balance(self, member_id: str) -> int:
        return (await self.services.points.summary(member_id, self.till.clock.now())).balance


@pytest.fixture
async def shop(start_wired, clock, redis) -> Shop:
    return Shop(await start_wired(), clock)


async def test_a_walk_in_joins_by_the_receipt_code_once_and_a_second_scanner_is_refused(shop: Shop, redis):
    sale = await shop.walk_in("199.00", txn_id="T-walk-1")
    assert sale.status == 200
    assert sale.json | {"join_until": ""} == {"member_id": None, "points_earned": 0, "balance": None, "tier": None,
                                             "walk_in": True, "txn_id": "T-walk-1", "join_until": ""}
    again = await shop.walk_in("199.00", txn_id="T-walk-1")
    assert again.status == 200 and again.json == sale.json                     # idempotent by txn_id
    code = await shop.till.get("/api/v1/join-code?txn_id=T-walk-1")
    assert code.status == 200 and code.json["scene"] == f"join:{join_token('T-walk-1')}"
    assert "showqrcode?ticket=" in code.json["image_url"] and code.json["url"]
    same = await shop.till.get("/api/v1/join-code?txn_id=T-walk-1")
    assert same.json == code.json                                              # the same receipt, the same code

    openid, member_id, reply = await shop.scan_in("小林", code.json["ticket"])
    assert member_id is not None
    texts = reply + await shop.chat(openid)
    assert "已补记 199 积分" in texts
    assert await shop.balance(member_id) == 199
    assert await redis.hget(keys.member_purchases(member_id), "T-walk-1") is not None
    refund = await shop.till.refund("T-walk-1", "99.50")                       # now the member's purchase
    assert refund.status == 200 and refund.json["member_id"] == member_id and refund.json["points_reversed"] == 99

    other, other_id, reply = await shop.scan_in("小周", code.json["ticket"])
    texts = reply + await shop.chat(other)
    assert "已由另一位会员领取" in texts
    assert await shop.balance(other_id) == 0
    assert await shop.balance(member_id) == 100
    joined = await shop.till.get("/api/v1/join-code?txn_id=T-walk-1")
    assert (joined.status, joined.error) == (409, "already_joined")


async def test_the_join_code_lapses_after_the_programmes_days(shop: Shop, redis, clock):
    assert (await shop.walk_in("88.00", txn_id="T-walk-late")).status == 200
    code = await shop.till.get("/api/v1/join-code?txn_id=T-walk-late")
    clock.advance(timedelta(days=7, minutes=1))
    openid, member_id, reply = await shop.scan_in("小吴", code.json["ticket"])
    assert "已过期" in reply + await shop.chat(openid)
    assert await shop.balance(member_id) == 0
    late = await shop.till.get("/api/v1/join-code?txn_id=T-walk-late")
    assert (late.status, late.error) == (422, "join_expired")


async def test_refusals_of_walk_in_sales_and_join_codes_change_nothing(shop: Shop, redis):
    openid = await shop.wired.join("小郑")
    member_sale = await shop.till.purchase({"openid": openid}, "50.00", txn_id="T-member")
    assert member_sale.status == 200
    assert (await shop.walk_in("20.00", txn_id="T-walk-2")).status == 200
    before = await snapshot(redis)
    for path, status, code in [("/api/v1/join-code?txn_id=T-nothing", 404, "unknown_txn"),
                               ("/api/v1/join-code?txn_id=T-member", 409, "not_walk_in"),
                               ("/api/v1/join-code", 422, "invalid_request"),
                               ("/api/v1/join-code?txn_id=%20bad%20id", 422, "invalid_request")]:
        answer = await shop.till.get(path)
        assert (answer.status, answer.error) == (status, code), path
    conflict = await shop.walk_in("21.00", txn_id="T-walk-2")
    assert (conflict.status, conflict.error) == (409, "txn_conflict")
    member_txn = await shop.walk_in("50.00", txn_id="T-member")
    assert (member_txn.status, member_txn.error) == (409, "txn_conflict")
    refund = await shop.till.refund("T-walk-2", "5.00")
    assert (refund.status, refund.error) == (422, "walk_in_sale")
    assert await snapshot(redis) == before


async def test_the_days_sales_count_members_and_walk_ins_per_store(shop: Shop, redis):
    openid = await shop.wired.join("小钱")
    for amount, store in (("100.00", "S01"), ("300.00", "S01"), ("50.00", "S02")):
        assert (await shop.till.purchase({"openid": openid}, amount, store_id=store)).status == 200
    txn = new_txn_id()
    for amount, store, txn_id in (("100.00", "S01", txn), ("100.00", "S01", txn), ("25.50", "S02", None)):
        assert (await shop.walk_in(amount, txn_id, store_id=store)).status == 200
    day = shop.till.clock.now().strftime("%Y%m%d")
    rows = {row.store_id: row for row in await shop.services.walk_ins.day(day)}
    assert (rows["S01"].member_count, str(rows["S01"].member_amount)) == (2, "400.00")
    assert (rows["S01"].walk_in_count, str(rows["S01"].walk_in_amount)) == (1, "100.00")
    assert str(rows["S01"].member_share) == "0.8000"
    assert (rows["S02"].member_count, rows["S02"].walk_in_count, str(rows["S02"].walk_in_amount)) == (1, 1, "25.50")
    answer = await shop.till.admin.get(f"/api/v1/admin/sales?date={shop.till.clock.now().date().isoformat()}")
    assert answer.status == 200
    assert answer.json["stores"][0] == {"store_id": "S01", "member_count": 2, "member_amount": "400.00",
                                        "walk_in_count": 1, "walk_in_amount": "100.00", "joined_count": 0,
                                        "member_share": "0.8000"}
