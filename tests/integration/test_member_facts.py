"""Member facts kept from the ledger's events: a purchase, a refund and a coupon change what a segment finds,
through the consumer of the outbox stream, and the daily job moves members through the lifecycle."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import loyalty_core
from bot.app_keys import SERVICES
from bot.events import facts_consumer
from bot.scheduler.process import runner_for
from loyalty_core import keys
from tests.integration.test_till_api import bind_phone
from tests.integration.till import Till


@pytest.fixture
async def mall(start_bot, clock, redis):
    till = Till(await start_bot(), clock)
    return till, till.services, facts_consumer(till.services, "test")


async def join(services, openid: str) -> str:
    return (await services.members.follow(openid, f"evt:{openid}")).member_id


async def caught_up(services, consumer) -> None:
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await consumer.drain()


async def preview(till, segment: dict) -> dict:
    answer = await till.admin.post("/api/v1/admin/segments/preview", {"segment": segment})
    assert answer.status == 200, answer.json
    return answer.json


async def test_purchases_and_refunds_make_the_facts(mall):
    till, services, consumer = mall
    member_id = await join(services, "o_facts")
    await caught_up(services, consumer)
    facts = await services.facts.facts(member_id)
    assert (facts.stage, facts.spend_12m_fen, facts.tier) == ("potential", 0, "member")
    assert (await till.purchase({"openid": "o_facts"}, "300.00", "T-dining", category="dining")).status == 200
    await till.purchase({"openid": "o_facts"}, "200.00", category="fashion")
    await caught_up(services, consumer)
    facts = await services.facts.facts(member_id)
    assert (facts.stage, facts.spend_12m_fen, facts.purchases_12m, facts.preferred_category) == \
        ("new", 50_000, 2, "dining")
    assert facts.balance == 500 and facts.average_basket_fen == 25_000
    assert (await till.refund("T-dining", "150.00")).status == 200
    await caught_up(services, consumer)
    facts = await services.facts.facts(member_id)
    assert (facts.spend_12m_fen, facts.preferred_category) == (35_000, "fashion")


async def test_segments_find_members_by_their_facts_and_communities(mall, redis):
    till, services, consumer = mall
    diner, shopper, idle = [await join(services, o) for o in ("o_diner", "o_shopper", "o_idle")]
    await till.purchase({"openid": "o_diner"}, "600.00", category="dining")
    await till.purchase({"openid": "o_shopper"}, "300.00", category="fashion")
    await redis.sadd(keys.member_communities(shopper), "yoga")       # as the communities' store files them
    await redis.sadd(keys.community_members("yoga"), shopper)
    await services.coupons.issue(idle, "tea-bogo", "gift-1")
    await caught_up(services, consumer)
    assert await preview(till, {}) == {"count": 3, "sample": sorted([diner, shopper, idle])}
    assert await preview(till, {"lifecycle": ["new"], "spend_12m_min": "500"}) == {"count": 1, "sample": [diner]}
    assert await preview(till, {"communities": ["yoga"]}) == {"count": 1, "sample": [shopper]}
    assert await preview(till, {"preferred_category": "fashion", "tiers": ["member"]}) == {"count": 1,
                                                                                         "sample": [shopper]}
    assert await preview(till, {"holds_coupon_template": "tea-bogo"}) == {"count": 1, "sample": [idle]}
    assert (await preview(till, {"lacks_coupon_template": "tea-bogo", "days_since_purchase_max": 0}))["count"] == 2
    refused = await till.admin.post("/api/v1/admin/segments/preview", {"segment": {"tiers": ["silver"]}})
    assert (refused.status, refused.error) == (422, "invalid_segment")
    assert "segment.tiers[0]: unknown tier 'silver'" in refused.json["error"]["message"]


async def test_a_win_back_comes_once_per_transition_however_often_the_job_runs(mall, clock):
    till, services, consumer = mall
    member_id = await join(services, "o_away")
    await till.purchase({"openid": "o_away"}, "120.00", category="dining")
    await caught_up(services, consumer)
    runner = runner_for(services, timedelta(seconds=30))

    async def run_days(days: int) -> None:
        for _ in range(days):
            clock.advance(days=1)
            await runner.run_day("lifecycle", services.facts.today())
            await runner.run_day("lifecycle", services.facts.today())     # the same day again: done already
            await services.lifecycle.give_due()                          # and by hand, again
            await caught_up(services, consumer)

    def winbacks(held) -> list[str]:
        return sorted(c.template.id for c in held if c.source == "lifecycle")

    await run_days(89)
    assert (await services.facts.facts(member_id)).stage == "active"
    assert winbacks(await services.coupons.wallet(member_id)) == []
    await run_days(3)
    assert (await services.facts.facts(member_id)).stage == "dormant"
    assert winbacks(await services.coupons.wallet(member_id)) == ["winback-30"]
    await run_days(10)
    assert winbacks(await services.coupons.wallet(member_id)) == ["winback-30"]
    topics = [step.topic for step in await services.pushes.deliveries(member_id, 100)]
    assert set(topics) == {"lifecycle_dormant"} and topics.count("lifecycle_dormant") >= 1
    records = {step.push_id for step in await services.pushes.deliveries(member_id, 100)}
    assert len(records) == 1                                          # one push, whatever its steps


async def test_the_headline_metrics_from_the_indexes(mall, clock):
    till, services, consumer = mall
    often, once, never, gone = [await join(services, o) for o in ("o_often", "o_once", "o_never", "o_gone")]
    for txn, amount in (("T-o1", "100.00"), ("T-o2", "300.00")):
        await till.purchase({"openid": "o_often"}, amount, txn)
    await till.purchase({"openid": "o_once"}, "50.00", "T-once")
    await bind_phone(till, often, "13800138000")
    await services.members.unfollow("o_gone", "evt:o_gone:left")
    await caught_up(services, consumer)
    metrics = (await till.admin.get("/api/v1/admin/metrics")).json
    today = metrics["today"]
    assert (today["members"], today["active_rate"], today["repurchase_rate"]) == (4, 0.5, 0.5)
    assert today["repurchase_by_tier"] == {"member": 0.5, "gold": 0.0, "platinum": 0.0, "diamond": 0.0}
    assert (today["ltv"], today["registration_rate"], today["push_conversion"]) == ("112.50", round(1 / 3, 4), 0.0)
    assert metrics["history"] == []
    runner = runner_for(services, timedelta(seconds=30))
    await runner.run_day("metrics", services.facts.today())
    clock.advance(days=100)                                   # nobody has bought for 100 days
    await runner.run_day("lifecycle", services.facts.today())
    assert (await till.admin.get("/api/v1/admin/metrics")).json["today"]["active_rate"] == 0.0
    assert (await till.admin.get("/api/v1/admin/metrics")).json["history"] == []       # 30 days by default
    [kept] = (await till.admin.get("/api/v1/admin/metrics?days=120")).json["history"]
    assert (kept["active_rate"], kept["ltv"]) == (0.5, "112.50")
    refused = await till.admin.get("/api/v1/admin/metrics?days=0")
    assert (refused.status, refused.error) == (422, "invalid_request")
    assert 'member_programme_headline{metric="active_rate",tier=""} 0.0' in await (await till.client.get("/metrics")).text()


async def test_spend_levels_by_percentile_follow_the_spenders(start_bot, clock, redis, tmp_path):
    """Ten spenders, the top 10% high and the top 40% at least mid; a new big spender moves the cutoffs, and the
    daily job refiles the members the move concerns."""
    default = Path(loyalty_core.__file__).with_name("program_default.toml").read_text(encoding="utf-8")
    program = tmp_path / "program.toml"
    program.write_text(default.replace('spend_levels = "thresholds"', 'spend_levels = "percentiles"'), encoding="utf-8")
    client = await start_bot(program_file=program)
    till, services = Till(client, clock), client.server.app[SERVICES]
    consumer = facts_consumer(services, "t")
    members = [await join(services, f"o_p{n}") for n in range(10)]
    await join(services, "o_none")
    for n in range(10):
        await till.purchase({"openid": f"o_p{n}"}, f"{(n + 1) * 100}.00", f"T-p{n}")
    await caught_up(services, consumer)
    assert await services.facts.measure_spend_levels() > 0
    levels = lambda: [services.facts.facts(m) for m in members]  # noqa: E731
    assert [(await f).spend_level for f in levels()] == ["low"] * 6 + ["mid"] * 3 + ["high"]
    assert (await preview(till, {"spend_level": ["high"]}))["count"] == 1
    assert (await preview(till, {"spend_level": ["mid"]}))["count"] == 3

    await till.purchase({"openid": "o_p0"}, "5000.00", "T-big")     # o_p0 becomes the biggest spender
    await caught_up(services, consumer)
    await services.facts.measure_spend_levels()
    assert [(await f).spend_level for f in levels()] == ["high"] + ["low"] * 6 + ["mid"] * 3
    assert await services.facts.measure_spend_levels() == 0         # nothing moved: nobody refiled
