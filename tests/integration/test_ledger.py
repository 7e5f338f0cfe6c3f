"""The points ledger and tiers through the core services against Redis: tiers, promotions, refunds,
expiry and warning jobs, grants, the leaderboard and the events they emit."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
import redis.asyncio as aioredis

from bot.embedded_redis import EmbeddedRedis
from bot.services import NoBirthdaysYet, build_services
from bot.sms import LogSmsSender
from loyalty_core import errors, keys
from loyalty_core.clock import MALL_TZ
from loyalty_core.points import PointsService, Purchase, add_months
from loyalty_core.program import load_program
from loyalty_core.redis_store.ledger import RedisLedgerStore
from loyalty_core.redis_store.outbox import Outbox
from loyalty_core.redis_store.scripts import Scripts

KEY = b"k" * 32


class BirthdayEveryDay:
    """A birthday port for a member whose birthday window covers every day."""

    async def contains(self, member_id: str, day: date) -> bool:
        return True


@pytest.fixture
def services(redis, clock):
    return build_services(redis, clock, KEY, LogSmsSender())


async def buy(services, member_id: str, amount: str, txn_id: str, at: datetime | None = None):
    purchase = Purchase(txn_id, Decimal(amount), at or services.clock.now())
    return await services.points.purchase(member_id, purchase, fingerprint=f"fp-{txn_id}")


async def events(redis, kind: str | None = None) -> list[dict]:
    found = [orjson.loads(fields["event"]) for _, fields in await redis.xrange(keys.OUTBOX_STREAM)]
    return [e for e in found if kind is None or e["type"] == kind]


# -- tiers ------------------------------------------------------------------------------------------
async def test_crossing_gold_upgrades_at_once_and_the_next_purchase_earns_double(services, redis):
    first = await buy(services, "100001", "40000", "t1")
    crossing = await buy(services, "100001", "15000", "t2")
    after = await buy(services, "100001", "100", "t3")
    assert (first.tier, first.points_earned) == ("member", 40000)
    assert (crossing.tier, crossing.points_earned, crossing.balance) == ("gold", 15000, 40000 + 15000 + 500)
    assert (after.tier, after.points_earned) == ("gold", 200)
    upgrades = await events(redis, "tier_upgraded")
    assert [(e["data"]["from"], e["data"]["to"], e["data"]["reward_points"]) for e in upgrades] == \
        [("member", "gold", 500)]
    assert await buy(services, "100001", "15000", "t2") == dataclasses.replace(crossing, replayed=True)
    assert len(await events(redis, "tier_upgraded")) == 1


async def test_concurrent_purchases_crossing_a_threshold_upgrade_and_reward_once(services, redis):
    results = await asyncio.gather(*(buy(services, "100002", "6000", f"c{i}") for i in range(10)))
    assert sum(r.points_earned for r in results) == 9 * 6000 + 12000       # the 10th comes after the upgrade
    assert len(await events(redis, "tier_upgraded")) == 1
    history = await services.points.history("100002", page=1)
    assert [e.source for e in history.entries].count("tier_upgrade") == 1
    status = await services.tiers.status("100002", services.clock.now())
    assert status.tier.code == "gold" and status.next_tier.code == "platinum"
    assert status.to_next == Decimal("40000")


async def test_a_jump_over_two_tiers_grants_both_rewards_once(services):
    result = await buy(services, "100003", "120000", "t1")
    assert (result.tier, result.balance) == ("platinum", 120000 + 500 + 1000)


async def test_review_a_year_later_downgrades_when_spend_fell_below_the_threshold(services, redis, clock):
    await buy(services, "100004", "60000", "t1")
    assert (await services.tiers.review("100004")).due is False            # not the anniversary yet
    clock.set(add_months(clock.now(), 12))
    [result] = await services.tiers.review_due()
    assert (result.member_id, result.kept, result.from_tier, result.to_tier) == ("100004", False, "gold", "member")
    status = await services.tiers.status("100004", clock.now())
    assert status.tier.code == "member" and status.review_on is None
    assert [e["data"]["to"] for e in await events(redis, "tier_downgraded")] == ["member"]
    assert await redis.zscore(keys.tier_review_index(keys.ledger_partition("100004")), "100004") is None


async def test_review_keeps_the_tier_while_the_window_spend_still_qualifies(services, redis, clock):
    start = clock.now()
    await buy(services, "100005", "49000", "t1")
    clock.set(add_months(start, 5))
    assert (await buy(services, "100005", "1000", "t2")).tier == "gold"     # anniversary: month 17
    clock.set(add_months(start, 13))
    assert (await buy(services, "100005", "50000", "t3")).tier == "gold"    # t1 has left the window
    clock.set(add_months(start, 16))
    assert await services.tiers.review_due() == []
    clock.set(add_months(start, 17))
    [result] = await services.tiers.review_due()
    assert (result.member_id, result.due, result.kept, result.to_tier) == ("100005", True, True, "gold")
    status = await services.tiers.status("100005", clock.now())
    assert status.tier.code == "gold" and status.review_on == add_months(start, 29).date()
    assert [e["data"]["kept"] for e in await events(redis, "tier_reviewed")] == [True]
    assert await services.tiers.review_due() == []                        # the next review is a year away


async def test_a_refund_after_the_upgrade_grace_period_lowers_the_window_spend_but_not_the_tier(services, clock):
    await buy(services, "100006", "60000", "t1")
    clock.advance(services.program.tier_review.upgrade_grace + timedelta(minutes=1))
    refunded = await services.points.refund("100006", "r1", "t1", Decimal("20000"), "fp-r1")
    status = await services.tiers.status("100006", clock.now())
    assert (refunded.tier, status.tier.code, status.spend) == ("gold", "gold", Decimal("40000"))
    assert refunded.balance == 60000 - 20000 + 500                   # the upgrade reward stays


async def test_buy_upgrade_refund_within_the_grace_period_reverts_the_upgrade_and_its_reward(services, redis, clock):
    await buy(services, "100016", "50000", "t1")
    await services.points.spend("100016", 50300, "rd1")               # the reward is spent: 200 points left
    clock.advance(days=1)
    refunded = await services.points.refund("100016", "r1", "t1", Decimal("50000"), "fp-r1")
    assert (refunded.tier, refunded.points_reversed) == ("member", 50000)
    assert (refunded.balance, refunded.debt) == (0, 50000 - 200 + 500)  # what was spent is owed, reward too
    status = await services.tiers.status("100016", clock.now())
    assert (status.tier.code, status.review_on) == ("member", None)
    [reverted] = await events(redis, "tier_reverted")
    assert {k: reverted["data"][k] for k in ("from", "to", "reward_points_taken")} == \
        {"from": "gold", "to": "member", "reward_points_taken": 500}
    assert (await services.points.history("100016")).entries[0].kind == "tier_reverted"
    again = await buy(services, "100016", "60000", "t2")              # reached again: rewarded again
    assert again.tier == "gold" and (again.balance, await debt(services, "100016")) == (60000 - 50300 + 500, 0)


async def test_a_refund_that_leaves_enough_spend_keeps_the_tier_and_one_that_undoes_part_keeps_the_rest(services,
                                                                                                        clock):
    await buy(services, "100017", "120000", "t1")                     # member -> platinum: 500 + 1000 reward
    kept = await services.points.refund("100017", "r1", "t1", Decimal("15000"), "fp-r1")
    assert kept.tier == "platinum"                                     # 105,000 still qualifies
    partly = await services.points.refund("100017", "r2", "t1", Decimal("30000"), "fp-r2")
    assert partly.tier == "gold"                                       # 75,000: gold stays, with its reward
    assert partly.balance == 120000 - 45000 + 500
    status = await services.tiers.status("100017", clock.now())
    assert status.review_on is not None                                # gold's review, from the upgrade


async def debt(services, member_id: str) -> int:
    return (await services.points.summary(member_id, services.clock.now())).debt


# -- promotions --------------------------------------------------------------------------------------
async def test_member_day_and_birthday_promotions_do_not_multiply_each_other(redis, clock):
    services = build_services(redis, clock, KEY, LogSmsSender(), birthdays=BirthdayEveryDay())
    plain_day = datetime(2026, 1, 15, 12, tzinfo=MALL_TZ)
    member_day = datetime(2026, 1, 18, 12, tzinfo=MALL_TZ)
    clock.set(member_day)
    birthday = await buy(services, "100007", "100", "t1", at=plain_day)
    both = await buy(services, "100007", "100", "t2", at=member_day)
    assert (birthday.points_earned, both.points_earned) == (200, 200)
    promotions = [e["data"]["promotion"] for e in await events(redis, "points_earned")]
    assert promotions == ["birthday", "member_day"]


async def test_the_purchase_day_not_the_booking_day_decides_the_promotion(services, clock):
    clock.set(datetime(2026, 1, 19, 0, 2, tzinfo=MALL_TZ))
    late = await buy(services, "100008", "100", "t1", at=datetime(2026, 1, 18, 23, 59, tzinfo=MALL_TZ))
    assert late.points_earned == 200


# -- expiry -----------------------------------------------------------------------------------------
async def test_the_expiry_job_visits_only_members_with_due_lots(services, redis, clock):
    start = clock.now()
    await buy(services, "100010", "100", "t1")
    await services.points.spend("100010", 30, "redeem-1")
    clock.set(add_months(start, 6))
    await buy(services, "100011", "50", "t2")
    clock.set(add_months(start, 12) + timedelta(days=1))
    assert await services.points.expire_due() == 70
    assert await services.points.expire_due() == 0                       # nothing left to expire
    assert (await services.points.summary("100010", clock.now())).balance == 0
    assert (await services.points.summary("100011", clock.now())).balance == 50
    expired = await events(redis, "points_expired")
    assert [(e["member_id"], e["data"]["points"]) for e in expired] == [("100010", 70)]
    assert await all_members(redis, keys.points_expiry_index) == ["100011"]


async def test_spending_takes_the_lots_that_expire_first(services, clock):
    start = clock.now()
    await buy(services, "100012", "100", "t1")
    clock.set(add_months(start, 3))
    await buy(services, "100012", "100", "t2")
    await services.points.spend("100012", 150, "redeem-1")
    clock.set(add_months(start, 12) + timedelta(days=1))
    summary = await services.points.summary("100012", clock.now())
    assert summary.balance == 50                                          # the older lot went first
    assert await services.points.expire("100012") == 0


async def test_points_expiring_soon_are_announced_once_per_lot(services, redis, clock):
    start = clock.now()
    await buy(services, "100013", "100", "t1")
    clock.set(add_months(start, 2))
    await buy(services, "100013", "40", "t2")
    clock.set(add_months(start, 12) - timedelta(days=20))
    assert await services.points.warn_expiring() == 1
    assert await services.points.warn_expiring() == 0                     # the same lot is not warned twice
    summary = await services.points.summary("100013", clock.now())
    assert (summary.expiring_points, summary.expiring_on) == (100, add_months(start, 12).date())
    clock.set(add_months(start, 14) - timedelta(days=10))
    assert await services.points.warn_expiring() == 1                     # now the second lot
    warned = await events(redis, "points_expiring_soon")
    assert [e["data"]["points"] for e in warned] == [100, 40]
    assert len({e["event_id"] for e in warned}) == 2


class DiesBeforeTheIndexSync(RedisLedgerStore):
    """A process that dies after the member's script, before it relays the events and syncs the indexes."""

    async def _settle(self, member_id: str, result: dict) -> None:
        raise ConnectionError("the process died")


async def test_a_lot_booked_by_a_process_that_died_before_the_index_sync_is_still_warned_and_expired(
        services, redis, clock):
    store = DiesBeforeTheIndexSync(redis, Outbox(redis, Scripts(redis)))
    dying = PointsService(store, services.program, clock, NoBirthdaysYet())
    start = clock.now()
    with pytest.raises(ConnectionError):
        await dying.purchase("100019", Purchase("t1", Decimal("100"), start), fingerprint="fp-t1")
    clock.set(add_months(start, 12) - timedelta(days=20))
    assert await services.points.warn_expiring() == 1
    clock.set(add_months(start, 12) + timedelta(days=1))
    assert await services.points.expire_due() == 100


async def test_an_upgrade_booked_by_a_process_that_died_before_the_index_sync_is_still_reviewed(
        services, redis, clock):
    store = DiesBeforeTheIndexSync(redis, Outbox(redis, Scripts(redis)))
    dying = PointsService(store, services.program, clock, NoBirthdaysYet())
    with pytest.raises(ConnectionError):
        await dying.purchase("100020", Purchase("t1", Decimal("60000"), clock.now()), fingerprint="fp-t1")
    clock.set(add_months(clock.now(), 12))
    [review] = await services.tiers.review_due()
    assert (review.member_id, review.kept, review.from_tier, review.to_tier) == ("100020", False, "gold", "member")


async def test_an_expired_lot_cannot_be_spent_even_before_the_job_runs(services, clock):
    await buy(services, "100014", "100", "t1")
    clock.set(add_months(clock.now(), 12) + timedelta(minutes=1))
    with pytest.raises(errors.InsufficientPoints):
        await services.points.spend("100014", 1, "redeem-1")
    assert (await services.points.summary("100014", clock.now())).balance == 0


# -- grants, events, leaderboard ---------------------------------------------------------------------
async def test_a_grant_is_applied_once_per_reference_and_pays_debt_first(services):
    await buy(services, "100015", "100", "t1")
    await services.points.spend("100015", 100, "redeem-1")
    await services.points.refund("100015", "r1", "t1", Decimal("100"), "fp-r1")
    first = await services.points.grant("100015", 150, "referral", "referral:100099")
    again = await services.points.grant("100015", 150, "referral", "referral:100099")
    assert (first.balance, again.balance, again.replayed) == (50, 50, True)
    summary = await services.points.summary("100015", services.clock.now())
    assert (summary.balance, summary.debt) == (50, 0)


async def test_refunds_of_a_very_large_purchase_take_back_exactly_its_points(redis, clock):
    """points × refunded fen passes 2^53 here, where Lua's double arithmetic is no longer exact."""
    program = load_program()
    program = dataclasses.replace(program, points=dataclasses.replace(program.points, base_rate=Decimal(6)))
    services = build_services(redis, clock, KEY, LogSmsSender(), program=program)
    bought = await buy(services, "100017", "8191175.39", "t1")
    assert bought.points_earned == 49_147_052
    half = await services.points.refund("100017", "r1", "t1", Decimal("4095587.69"), "fp-r1")
    rest = await services.points.refund("100017", "r2", "t1", Decimal("4095587.70"), "fp-r2")
    assert half.points_reversed == 49_147_052 * 409_558_769 // 819_117_539
    assert half.points_reversed + rest.points_reversed == 49_147_052
    assert (half.tier, half.balance) == ("diamond", 49_147_052 - half.points_reversed + 500 + 1000 + 2000)
    assert (rest.tier, rest.balance, rest.debt) == ("member", 0, 0)      # the upgrade went, with its rewards


async def test_first_purchase_is_announced_once_with_txn_and_amount(services, redis):
    await buy(services, "100016", "88.50", "t1")
    await buy(services, "100016", "10", "t2")
    [first] = await events(redis, "first_purchase")
    assert first["event_id"] == "first_purchase:100016"
    assert (first["data"]["txn_id"], first["data"]["amount"]) == ("t1", "88.50")
    refunded = await services.points.refund("100016", "r1", "t1", Decimal("88.50"), "fp-r1")
    assert refunded.points_reversed == 88
    [event] = await events(redis, "purchase_refunded")
    assert event["data"]["points_reversed"] == 88 and event["data"]["fully_refunded"] is True


async def test_the_leaderboard_ranks_points_earned_this_year(services, redis, clock):
    await redis.hset(keys.member_profile("100021"), mapping={"nickname": "王小明"})
    for member_id, amount in (("100021", "500"), ("100022", "900"), ("100023", "700")):
        await buy(services, member_id, amount, f"t-{member_id}")
    await services.points.refund("100022", "r1", "t-100022", Decimal("450"), "fp-r1")
    board = await services.points.leaderboard("100023", clock.now())
    assert [(row.rank, row.name, row.points, row.is_me) for row in board.rows] == [
        (1, "会员 10**23", 700, True), (2, "王**", 500, False), (3, "会员 10**22", 450, False)]
    assert (board.my_rank, board.my_points) == (1, 700)
    next_year = await services.points.leaderboard("100023", clock.now().replace(year=2027))
    assert (next_year.rows, next_year.my_rank) == ((), None)


async def all_members(redis, index) -> list[str]:
    """The members of every partition of a ledger index."""
    return sorted([m for part in range(keys.LEDGER_PARTITIONS) for m in await redis.zrange(index(part), 0, -1)])


async def test_the_jobs_page_through_their_index_and_repair_stale_entries(services, redis, clock):
    start = clock.now()
    for member_id in ("100031", "100032", "100033"):
        await buy(services, member_id, "10", f"t-{member_id}")
    clock.set(add_months(start, 12) - timedelta(days=5))
    assert await services.points.warn_expiring(batch=1) == 3             # same expiry for all three
    assert await services.points.warn_expiring(batch=1) == 0
    await redis.zadd(keys.tier_review_index(keys.ledger_partition("100033")), {"100033": 20260101})  # a process died
    assert [r.due for r in await services.tiers.review_due(batch=1)] == [False]
    assert await all_members(redis, keys.tier_review_index) == []
    clock.set(add_months(start, 12) + timedelta(days=1))
    assert await services.points.expire_due(batch=1) == 30
    assert await all_members(redis, keys.points_expiry_index) == []


async def test_scripts_are_loaded_again_after_redis_forgot_them(tmp_path, clock):
    """On a private redis-server: SCRIPT FLUSH empties the cache of every database on the server."""
    with EmbeddedRedis(tmp_path, appendonly=False) as server:
        async with aioredis.from_url(server.url, decode_responses=True) as redis:
            services = build_services(redis, clock, KEY, LogSmsSender())
            await buy(services, "100041", "10", "t1")
            await redis.script_flush()
            assert (await buy(services, "100041", "20", "t2")).balance == 30
