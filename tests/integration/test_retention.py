"""Retention (the program file's `[retention]`): what a till may still retry, or refund, is kept for its days and
answers as the first time; a member's points history and purchases keep their last months (the purchases a
summary of the older ones) and ended coupons are forgotten
some months after their validity ended, while live coupons, limits and recent entries stay; the streams lose
only the entries every consumer group read and acknowledged."""
from __future__ import annotations

from datetime import datetime
from importlib import resources

import orjson
import pytest

from bot.events import retention_consumer
from loyalty_core import errors, keys
from loyalty_core.clock import MALL_TZ
from loyalty_core.program import load_program
from loyalty_core.redis_store.retention import RedisRetentionStore
from loyalty_core.retention import Retention
from tests.integration.till import Till

PACKAGED = resources.files("loyalty_core").joinpath("program_default.toml")
DAY = 86400


@pytest.fixture
async def till(start_bot, clock, redis) -> Till:
    till = Till(await start_bot(), clock)
    await till.services.members.follow("o_keep", "evt:o_keep")
    return till


async def member_id(till: Till) -> str:
    return await till.services.members.member_id_for_openid("o_keep")


async def retention_ran(till: Till) -> None:
    """The member's events relayed, then the retention consumer's share of them handled."""
    services = till.services
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await retention_consumer(services, "test").drain()


async def test_a_till_retry_within_the_retention_days_gets_the_first_answer_and_the_claims_live_that_long(till):
    body = till.purchase_body({"openid": "o_keep"}, "300.00", txn_id="KEEP-1")
    first = await till.post("/api/v1/purchases", body)
    refund = await till.refund("KEEP-1", "100.00", refund_id="KEEP-R1")
    assert (first.status, refund.status) == (200, 200)
    assert (await till.post("/api/v1/purchases", body)) == first          # the till's retry
    assert (await till.refund("KEEP-1", "100.00", refund_id="KEEP-R1")) == refund
    redis = till.services.redis
    for key in (keys.txn_index("KEEP-1"), keys.refund_index("KEEP-R1")):
        assert 29 * DAY < await redis.ttl(key) <= 30 * DAY


async def test_the_retry_window_is_the_program_files(start_bot, clock, redis, tmp_path):
    program = tmp_path / "program.toml"
    program.write_text(PACKAGED.read_text().replace("till_retry_days = 30", "till_retry_days = 90"))
    till = Till(await start_bot(program_file=str(program)), clock)
    await till.services.members.follow("o_keep", "evt:o_keep")
    assert (await till.purchase({"openid": "o_keep"}, "88.00", txn_id="KEEP-90")).status == 200
    assert 89 * DAY < await till.services.redis.ttl(keys.txn_index("KEEP-90")) <= 90 * DAY


async def test_history_keeps_its_last_months_and_forgets_what_is_older(till, clock):
    for n in range(3):
        assert (await till.purchase({"openid": "o_keep"}, "100.00", txn_id=f"OLD-{n}")).status == 200
    clock.advance(days=200)
    assert (await till.purchase({"openid": "o_keep"}, "50.00", txn_id="MID-1")).status == 200
    clock.advance(days=220)                     # the first purchases are now 14 months old, MID-1 7 months
    assert (await till.purchase({"openid": "o_keep"}, "20.00", txn_id="NEW-1")).status == 200
    await retention_ran(till)
    history = [orjson.loads(e) for e in await till.services.redis.lrange(keys.points_history(await member_id(till)),
                                                                          0, -1)]
    refs = [entry["ref"] for entry in history if entry["kind"] == "purchase"]
    assert refs == ["NEW-1", "MID-1"]
    cutoff = till.services.retention.history_cutoff(clock.now())
    assert all(entry["at"] >= cutoff.isoformat() for entry in history)
    page = await till.services.points.history(await member_id(till))
    assert [entry.ref for entry in page.entries if entry.kind == "purchase"] == ["NEW-1", "MID-1"]


async def test_purchases_older_than_the_retention_months_leave_a_summary_the_facts_still_read(till, clock):
    services, member = till.services, await member_id(till)
    assert (await till.purchase({"openid": "o_keep"}, "100.00", txn_id="OLD-1")).status == 200
    first_day = clock.now().astimezone(MALL_TZ).date()
    assert (await till.purchase({"openid": "o_keep"}, "80.00", txn_id="OLD-2")).status == 200
    assert (await till.refund("OLD-2", "30.00", refund_id="OLD-2R")).status == 200
    assert (await till.purchase({"openid": "o_keep"}, "40.00", txn_id="OLD-3")).status == 200
    assert (await till.refund("OLD-3", "40.00", refund_id="OLD-3R")).status == 200   # wholly refunded
    clock.advance(days=200)
    assert (await till.purchase({"openid": "o_keep"}, "50.00", txn_id="MID-1")).status == 200
    clock.advance(days=220)                     # the first purchases are now 14 months old, MID-1 7 months
    assert (await till.purchase({"openid": "o_keep"}, "20.00", txn_id="NEW-1")).status == 200
    await retention_ran(till)
    await retention_ran(till)                   # a second run forgets nothing more
    redis = services.redis
    assert set(await redis.hkeys(keys.member_purchases(member))) == {"MID-1", "NEW-1"}
    account = await redis.hgetall(keys.points_account(member))
    assert (account["earlier_count"], account["earlier_spend"]) == ("3", str(10_000 + 5_000))
    assert account["earlier_first"] == account["earlier_last"] == first_day.strftime("%Y%m%d")
    await services.facts.refresh(member)
    facts = await services.facts.facts(member)
    assert (facts.first_purchase, facts.purchases_12m, facts.spend_12m_fen) == (first_day, 2, 7_000)
    assert (await till.refund("NEW-1", "20.00", refund_id="NEW-1R")).status == 200      # kept ones refund as before


async def test_a_member_whose_kept_purchases_all_left_is_churned_not_potential(till, clock):
    services, member = till.services, await member_id(till)
    assert (await till.purchase({"openid": "o_keep"}, "100.00", txn_id="ONLY-1")).status == 200
    clock.advance(days=420)
    await services.points.grant(member, 10, "goodwill", "late-grant")       # points change: retention runs
    await retention_ran(till)
    assert await services.redis.hlen(keys.member_purchases(member)) == 0
    await services.facts.refresh(member)
    facts = await services.facts.facts(member)
    assert (facts.stage, facts.purchases_12m) == ("churned", 0)


async def test_ended_coupons_are_forgotten_months_after_their_validity_and_live_ones_kept(till, clock):
    coupons, member = till.services.coupons, await member_id(till)
    used = await coupons.issue(member, "winback-30", "keep:used")
    assert (await till.post(f"/api/v1/coupons/{used.code}/redeem",
                            {"txn_id": "CPN-1", "amount": "200.00", "category": "dining", "store_id": "S01"})).status == 200
    left_to_expire = await coupons.issue(member, "winback-30", "keep:expired")
    clock.advance(days=31)
    assert await coupons.expire_due(clock.now()) == 1
    still_issued = await coupons.issue(member, "winback-50", "keep:issued")
    clock.advance(days=180)
    recently_used = await coupons.issue(member, "dining-200-30", "keep:recent")
    assert (await till.post(f"/api/v1/coupons/{recently_used.code}/redeem",
                            {"txn_id": "CPN-2", "amount": "300.00", "category": "dining", "store_id": "S01"})).status == 200
    clock.advance(days=15)
    newest = await coupons.issue(member, "winback-30", "keep:newest")
    await retention_ran(till)
    redis = till.services.redis
    held = set(await redis.hkeys(keys.member_coupons(member)))
    assert held == {still_issued.code, recently_used.code, newest.code}
    assert await redis.exists(keys.coupon_index(used.code), keys.coupon_index(left_to_expire.code)) == 0
    assert await redis.get(keys.coupon_index(recently_used.code)) == member
    assert await redis.hget(keys.member_coupon_counts(member), "winback-30") == "3"       # limits still count
    with pytest.raises(errors.UnknownCoupon):                 # a retried issue names it: no second coupon
        await coupons.issue(member, "winback-30", "keep:used")
    assert await redis.hget(keys.member_coupon_counts(member), "winback-30") == "3"


async def stream_ids(redis, stream: str) -> list[str]:
    return [entry_id for entry_id, _ in await redis.xrange(stream)]


async def test_a_stream_loses_only_what_every_group_read_and_acknowledged(redis, clock):
    stream = "retention-test:stream"
    ids = [await redis.xadd(stream, {"n": n}) for n in range(10)]
    retention = Retention(RedisRetentionStore(redis, None), load_program(), clock, [stream])
    assert await retention.trim_streams() == 0                                # no group yet: kept for one
    await redis.xgroup_create(stream, "slow", id="0")
    await redis.xgroup_create(stream, "quick", id="0")
    read = await redis.xreadgroup("slow", "c1", {stream: ">"}, count=6)
    await redis.xack(stream, "slow", *[entry_id for entry_id, _ in read[0][1][:3]])    # 4th-6th pending
    read = await redis.xreadgroup("quick", "c2", {stream: ">"}, count=2)
    await redis.xack(stream, "quick", *[entry_id for entry_id, _ in read[0][1]])
    assert await retention.trim_streams() == 1                                # quick has read 2: the 1st goes
    assert await stream_ids(redis, stream) == ids[1:]
    read = await redis.xreadgroup("quick", "c2", {stream: ">"})
    await redis.xack(stream, "quick", *[entry_id for entry_id, _ in read[0][1]])
    assert await retention.trim_streams() == 2                                # slow's oldest pending: the 4th
    assert await stream_ids(redis, stream) == ids[3:]


async def test_a_days_set_of_counted_sales_lives_as_long_as_a_sale_of_that_day_may_be_posted_or_retried(till, clock):
    clock.set(datetime.now(MALL_TZ))                 # Redis keeps real time for the set's expiry
    body = till.purchase_body({"openid": "o_keep"}, "120.00", txn_id="DAY-1")
    assert (await till.post("/api/v1/purchases", body)).status == 200
    assert (await till.post("/api/v1/purchases", body)).status == 200          # a retry counts once
    day = clock.now().strftime("%Y%m%d")
    counts = await till.services.redis.hgetall(keys.sales_day(day))
    assert counts["S01|member|count"] == "1"
    lives = await till.services.redis.ttl(keys.sales_day_counted(day))
    assert (90 + 30) * DAY < lives <= (90 + 30 + 1) * DAY                     # backdating + retry window
    assert await till.services.redis.ttl(keys.sales_day(day)) == -1           # the day's counts stay
