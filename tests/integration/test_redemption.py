"""The redemption saga under load, crashes and refusals: stock never oversold, points never lost
(Σ balances + Σ spent constant), a crashed process's redemption settled by the sweeper."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from loyalty_core import errors, keys
from loyalty_core.program import parse_catalogue_item, parse_coupon_template
from loyalty_core.redemption import SweepReport
from tests.integration.killed import kill_after
from tests.integration.rewards import Chat, ledger_totals
from tests.wechat_peer import WeChatPeer


@pytest.fixture
async def chat(start_bot, redis) -> Chat:
    client = await start_bot(budget=60.0)       # 500 members at once on a small machine: no late replies
    return Chat(WeChatPeer(client), client)


async def add_item(chat: Chat, **definition) -> str:
    raw = {"id": "limited", "title": "限量保温杯", "points": 50, "kind": "voucher", "voucher": "保温杯一个"}
    item = parse_catalogue_item(raw | definition)
    await chat.services.redemption.create_item(item)
    return item.id


async def test_500_members_redeem_an_item_with_stock_10_exactly_10_succeed(chat, redis):
    item_id = await add_item(chat, stock=10)
    openids = [f"o_rush_{n:03d}" for n in range(500)]
    members = []
    for start in range(0, len(openids), 50):        # the setup in steps: the race is the redemptions', below
        members += await asyncio.gather(*(chat.member(openid, points=1000) for openid in openids[start:start + 50]))
    before = await ledger_totals(redis, members)
    offers = await asyncio.gather(*(chat.say(openid, "兑换 1") for openid in openids))
    assert all("限量保温杯" in offer for offer in offers)
    replies = await asyncio.gather(*(chat.say(openid, "确认") for openid in openids))
    assert sum("兑换成功" in reply for reply in replies) == 10
    sold_out = [reply for reply in replies if "该礼品已兑完：限量保温杯" in reply]
    assert len(sold_out) == 490
    balances, spent = await ledger_totals(redis, members)
    assert (balances, spent) == (before[0] - 10 * 50, 10 * 50) and balances + spent == sum(before)
    assert await chat.services.redemption.stock(item_id) == {"left": 0, "held": 0, "sold": 10}
    assert await redis.zcard(keys.item_open_reservations(item_id)) == 0
    balances_after = await asyncio.gather(*(chat.balance(m) for m in members))
    winners = [m for m, balance in zip(members, balances_after) if balance == 950]
    assert len(winners) == 10 and sorted(balances_after) == [950] * 10 + [1000] * 490
    assert [len(await chat.services.coupons.wallet(m)) for m in winners] == [1] * 10


async def test_a_coupon_that_cannot_be_issued_gives_the_points_back_and_the_stock(chat, redis):
    await chat.services.coupons.create_template(parse_coupon_template(
        {"id": "once", "title": "每人一张", "kind": "cash_off", "value": "10", "valid_days": 7, "per_member_limit": 1}))
    item_id = await add_item(chat, id="once-item", title="每人一张", kind="coupon", template="once", stock=5,
                             voucher=None)
    member_id = await chat.member("o_rey", points=500)
    redemption = chat.services.redemption
    await redemption.redeem(member_id, item_id, "redeem-first")
    with pytest.raises(errors.CouponMemberLimit):
        await redemption.redeem(member_id, item_id, "redeem-second")
    assert await chat.balance(member_id) == 450 and await ledger_totals(redis, [member_id]) == (450, 50)
    assert await redemption.stock(item_id) == {"left": 4, "held": 0, "sold": 1}
    with pytest.raises(errors.CouponMemberLimit):                  # the same redemption again: the same answer
        await redemption.redeem(member_id, item_id, "redeem-second")
    assert await chat.balance(member_id) == 450
    history = await chat.services.points.history(member_id)
    assert [e.kind for e in history.entries][:3] == ["reversal", "spend", "spend"]


async def test_the_sweeper_releases_a_reservation_whose_points_were_never_spent(chat, redis, clock):
    item_id = await add_item(chat, stock=3)
    member_id = await chat.member("o_sid", points=200)
    redemption = chat.services.redemption
    reservation = await redemption.reserve(member_id, await redemption.item(item_id), "redeem-crashed")
    clock.advance(seconds=119)
    assert (await redemption.sweep()).released == 0                 # not yet past the timeout
    clock.advance(seconds=2)
    assert (await redemption.sweep()).released == 1
    assert await redemption.stock(item_id) == {"left": 3, "held": 0, "sold": 0}
    with pytest.raises(errors.RedemptionLapsed):                     # the crashed process wakes up late
        await redemption.pay(reservation)
    assert await ledger_totals(redis, [member_id]) == (200, 0)
    with pytest.raises(errors.RedemptionLapsed):
        await redemption.redeem(member_id, item_id, "redeem-crashed")


async def test_the_sweeper_completes_a_redemption_whose_points_were_spent(chat, redis, clock):
    item_id = await add_item(chat, stock=3)
    member_id = await chat.member("o_tom", points=200)
    redemption = chat.services.redemption
    reservation = await redemption.reserve(member_id, await redemption.item(item_id), "redeem-paid")
    await redemption.pay(reservation)
    clock.advance(minutes=3)
    assert (await redemption.sweep()).completed == 1
    assert await redemption.stock(item_id) == {"left": 2, "held": 0, "sold": 1}
    assert await ledger_totals(redis, [member_id]) == (150, 50)
    [voucher] = await chat.services.coupons.wallet(member_id)
    assert voucher.template.title == "限量保温杯"
    assert (await redemption.sweep()) == type(await redemption.sweep())()     # nothing left to settle


@pytest.mark.parametrize("stop_after, stock, totals, wallet", [
    ("reserve", {"left": 5, "held": 0, "sold": 0}, (300, 0), 0),      # never paid: released, points untouched
    ("pay", {"left": 4, "held": 0, "sold": 1}, (250, 50), 1),         # paid: completed (rolled forward)
])
async def test_a_process_killed_mid_redemption_is_settled_by_the_sweeper(
        chat, redis, redis_url, clock, stop_after, stock, totals, wallet):
    item_id = await add_item(chat, stock=5)
    member_id = await chat.member("o_una", points=300)
    await kill_after("tests.integration.redemption_driver", stop_after, {
        "REDIS_URL": redis_url, "MEMBER_ID": member_id, "ITEM_ID": item_id, "REDEMPTION_ID": "redeem-killed",
        "CLOCK_AT": clock.now().isoformat()})
    assert (await chat.services.redemption.stock(item_id))["held"] == 1       # the crash left it reserved
    clock.advance(timedelta(minutes=2, seconds=1))
    await chat.services.redemption.sweep()
    assert await chat.services.redemption.stock(item_id) == stock
    assert await ledger_totals(redis, [member_id]) == totals and sum(totals) == 300
    assert len(await chat.services.coupons.wallet(member_id)) == wallet


@pytest.mark.parametrize("stop_after", ["issue", "fulfil"])
async def test_a_redemption_stopped_after_its_coupon_was_issued_is_completed_with_that_coupon(
        chat, redis, clock, stop_after):
    item_id = await add_item(chat, id="dining", title="餐饮券", kind="coupon", template="dining-200-30", stock=3,
                             voucher=None)
    member_id = await chat.member("o_wes", points=800)
    redemption = chat.services.redemption
    item = await redemption.item(item_id)
    reservation = await redemption.reserve(member_id, item, "redeem-half")
    await redemption.pay(reservation)
    if stop_after == "issue":       # the coupon issued under the saga's issue key, the outcome not yet recorded
        code = (await chat.services.coupons.issue(member_id, "dining-200-30", "redeem:redeem-half")).code
    else:                           # fulfilled, the stock not yet confirmed
        code = (await redemption.fulfil(reservation, item)).coupon_code
    clock.advance(minutes=2, seconds=1)
    assert await redemption.sweep() == SweepReport(completed=1)
    [coupon] = await chat.services.coupons.wallet(member_id)
    assert coupon.code == code
    assert await redemption.stock(item_id) == {"left": 2, "held": 0, "sold": 1}
    assert await ledger_totals(redis, [member_id]) == (750, 50)
    repeated = await redemption.redeem(member_id, item_id, "redeem-half")
    assert repeated.outcome.coupon_code == coupon.code and repeated.balance == 750


async def test_a_repeat_of_a_finished_redemption_gets_the_same_answer_after_the_sale_ended(chat, redis, clock):
    item_id = await add_item(chat, stock=3, available_until="2026-01-15")
    member_id = await chat.member("o_val", points=200)
    redemption = chat.services.redemption
    first = await redemption.redeem(member_id, item_id, "redeem-late")
    clock.advance(days=1)
    assert await redemption.redeem(member_id, item_id, "redeem-late") == first
    with pytest.raises(errors.NotOnSale):
        await redemption.redeem(member_id, item_id, "redeem-new")
    assert await redemption.stock(item_id) == {"left": 2, "held": 0, "sold": 1}
    assert await ledger_totals(redis, [member_id]) == (150, 50)


async def test_the_records_of_reservations_settled_long_ago_are_forgotten_and_the_limits_still_hold(
        chat, redis, clock):
    item_id = await add_item(chat, stock=5, per_member_limit=1)
    member_id = await chat.member("o_xia", points=500)
    other = await chat.member("o_yun", points=10)
    redemption = chat.services.redemption
    await redemption.redeem(member_id, item_id, "redeem-kept")
    with pytest.raises(errors.InsufficientPoints):
        await redemption.redeem(other, item_id, "redeem-refused")
    clock.advance(days=6)
    await redemption.sweep()
    assert await redis.hlen(keys.item_reservations(item_id)) == 2          # within the week: still answered
    clock.advance(days=1, seconds=1)
    await redemption.sweep()
    assert await redis.hlen(keys.item_reservations(item_id)) == 0
    assert await redis.zcard(keys.item_settled_reservations(item_id)) == 0
    assert await redemption.stock(item_id) == {"left": 4, "held": 0, "sold": 1}
    with pytest.raises(errors.ItemLimitReached):
        await redemption.redeem(member_id, item_id, "redeem-again")


async def test_a_reservation_that_cannot_be_settled_is_left_for_the_next_round_and_holds_back_no_other(
        chat, redis, clock, caplog):
    item_id = await add_item(chat, stock=5)
    redemption = chat.services.redemption
    item = await redemption.item(item_id)
    for n, openid in enumerate(("o_ada", "o_bea", "o_cyd")):
        await redemption.reserve(await chat.member(openid, points=200), item, f"redeem-crashed-{n}")
        clock.advance(seconds=1)
    await redis.hset(keys.item_reservations(item_id), "redeem-crashed-0", "{damaged")   # the first one open
    clock.advance(minutes=3)
    assert await redemption.sweep(batch=1) == SweepReport(released=2, failed=1)
    assert "reservation redeem-crashed-0 of item limited not settled (JSONDecodeError)" in caplog.text
    assert await redemption.stock(item_id) == {"left": 4, "held": 1, "sold": 0}
    assert await redemption.sweep() == SweepReport(failed=1)
    assert await redis.zrange(keys.item_open_reservations(item_id), 0, -1) == ["redeem-crashed-0"]
