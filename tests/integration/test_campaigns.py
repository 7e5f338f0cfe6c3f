"""Campaigns through the admin API, the push side and the WeChat sandbox: a campaign to 1,000 members with a
10% holdout reaches each member of a variant once and nobody else, each with their coupon, and a redemption at
the till shows in the results. A campaign that cannot work is refused, naming the problem, and stores nothing."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.app_keys import SERVICES
from bot.events import campaign_results_consumer, facts_consumer
from loyalty_core.campaign_rules import HOLDOUT, arm_for
from loyalty_core.campaigns import parse_definition
from tests.fixtures_push import align_clock
from tests.integration.till import Till, snapshot

MEMBERS, OUTSIDE = 1000, 40


def campaign(**changes) -> dict:
    return {"campaign_id": "spring", "name": "春季焕新", "kind": "marketing",
            "segment": {"lifecycle": ["potential"]},
            "variants": [{"name": "A", "weight": 0.5, "text": "{{ member.tier_name }}会员专享：{{ coupon.title }}",
                          "coupon_template": "tea-bogo"},
                         {"name": "B", "weight": 0.5, "text": "{{ member.name }}，送您「{{ coupon.title }}」",
                          "coupon_template": "sbux-tall"}],
            "holdout": 0.1, "send_at": None, "repeat": None, "channels": {"mass_send": True},
            "conversion_days": 14} | changes


@pytest.fixture
async def mall(start_wired, clock, make_sender, redis):
    wired = await start_wired()
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    services = wired.bot.app[SERVICES]
    return wired, services, await make_sender(wired.sandbox), Till(wired.bot, clock)


async def caught_up(services, *consumers) -> None:
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    for consumer in consumers:
        await consumer.drain()


async def test_a_campaign_to_1000_members_reaches_each_member_of_a_variant_once(mall):
    wired, services, sender, till = mall
    openids = await wired.wechat.add_followers(MEMBERS + OUTSIDE, prefix="cp")
    members = {}
    for openid in openids:
        members[openid] = (await services.members.follow(openid, f"evt:{openid}")).member_id
    for openid in openids[:OUTSIDE]:           # these have bought: no longer potential, outside the segment
        assert (await till.purchase({"openid": openid}, "80.00")).status == 200
    facts, results = facts_consumer(services, "t"), campaign_results_consumer(services, "t")
    await caught_up(services, facts)
    answer = await till.admin.post("/api/v1/admin/campaigns", campaign())
    assert answer.status == 201, answer.json
    assert await services.campaigns.send_due() == 1
    await sender.drain()

    segment = [members[o] for o in openids[OUTSIDE:]]
    arms = {m: arm_for("spring", m, parse_definition(_decimal(campaign()))) for m in segment}
    reached = {o for o in openids[OUTSIDE:] if arms[members[o]] != HOLDOUT}
    assert 0.05 * MEMBERS < MEMBERS - len(reached) < 0.15 * MEMBERS
    delivered = Counter(entry["openid"] for entry in await wired.wechat.all_messages())
    assert delivered == Counter({openid: 1 for openid in reached})
    for openid in reached:
        held = {c.template.id for c in await services.coupons.wallet(members[openid])}
        assert held == {"tea-bogo" if arms[members[openid]] == "A" else "sbux-tall"}

    status = (await till.admin.get("/api/v1/admin/campaigns/spring")).json
    assert (status["audience"], status["holdout"], status["planned"]) == (MEMBERS, MEMBERS - len(reached), len(reached))
    assert status["sent"] == len(reached) and status["status"] == "sent"

    buyer = next(o for o in sorted(reached) if arms[members[o]] == "B")
    [coupon] = await services.coupons.wallet(members[buyer])
    used = await till.post(f"/api/v1/coupons/{coupon.code}/redeem", {"txn_id": "T-spring", "amount": "60.00",
                                                                      "items": [{"sku": "SBUX-TALL", "price": "35.00",
                                                                                 "quantity": 1}]})
    assert used.status == 200, used.json
    assert (await till.purchase({"openid": buyer}, "60.00", "T-spring")).status == 200
    await caught_up(services, results)
    shown = {arm["arm"]: arm for arm in (await till.admin.get("/api/v1/admin/campaigns/spring/results")).json["arms"]}
    assert (shown["B"]["coupons_redeemed"], shown["B"]["purchasers"], shown["B"]["spend"]) == (1, 1, "60.00")
    assert (shown["A"]["coupons_redeemed"], shown["A"]["purchasers"], shown[HOLDOUT]["purchasers"]) == (0, 0, 0)
    assert shown["A"]["members"] + shown["B"]["members"] == len(reached)

    assert await services.campaigns.send("spring") is False        # sent: again does nothing
    await sender.drain()
    assert sum((Counter(e["openid"] for e in await wired.wechat.all_messages())).values()) == len(reached)


def _decimal(body: dict) -> dict:
    """The body as the API reads it (numbers with a fraction as Decimal)."""
    return json.loads(json.dumps(body), parse_float=Decimal)


@pytest.mark.parametrize("change, problem", [
    ({"segment": {"tiers": ["silver"]}}, "segment.tiers[0]: unknown tier 'silver'"),
    ({"segment": {"holds_coupon_template": "nope"}}, "unknown coupon template 'nope'"),
    ({"variants": [{"name": "A", "weight": 0.6, "text": "hi"}, {"name": "B", "weight": 0.3, "text": "yo"}]},
     "weights must add up to 1"),
    ({"holdout": 0.6}, "holdout: must be a number ≥ 0 and ≤ 0.5"),
    ({"variants": [{"name": "A", "weight": 1, "text": "hi", "coupon_template": "nope"}]},
     "variants[0].coupon_template: unknown coupon template 'nope'"),
    ({"variants": [{"name": "A", "weight": 1, "text": "{{ member.tier_name "}]}, "variants[0].text: does not render"),
    ({"variants": [{"name": "A", "weight": 1, "text": "{{ member.favourite_colour }}"}]},
     "variants[0].text: does not render"),
    ({"variants": [{"name": "A", "weight": 1, "text": "{{ coupon.title }}"}]},
     "variants[0].text: does not render: 'None' has no attribute 'title' (this variant gives no coupon"),
    ({"variants": [{"name": "A", "weight": 1, "text": "{{ ''.__class__.__mro__ }}"}]}, "variants[0].text"),
    ({"variants": [{"name": "A", "weight": 1, "text": "{{ range(10 ** 9) | list }}"}]}, "variants[0].text"),
])
async def test_a_campaign_that_cannot_work_is_refused_naming_the_problem(mall, redis, change, problem):
    _, _, _, till = mall
    before = await snapshot(redis)
    answer = await till.admin.post("/api/v1/admin/campaigns", campaign(**change))
    assert answer.status == 422 and answer.error == "invalid_campaign", answer.json
    message = answer.json["error"]["message"]
    assert problem in message
    assert "category coupon" not in message      # no variant here gives one
    if "coupon" not in problem:
        assert "gives no coupon" not in message  # a text that fails with a coupon too is not told to add one
    assert await snapshot(redis) == before


async def test_the_same_campaign_again_is_answered_as_first_and_another_body_is_a_conflict(mall, redis):
    _, services, _, till = mall
    first = await till.admin.post("/api/v1/admin/campaigns", campaign())
    again = await till.admin.post("/api/v1/admin/campaigns", campaign())
    assert first.status == 201 and (again.status, again.json) == (200, first.json)
    before = await snapshot(redis)
    other = await till.admin.post("/api/v1/admin/campaigns", campaign(name="别的"))
    assert (other.status, other.error) == (409, "campaign_conflict")
    assert await snapshot(redis) == before


async def test_a_cancelled_campaign_sends_nothing(mall):
    wired, services, sender, till = mall
    for openid in await wired.wechat.add_followers(5, prefix="cx"):
        await services.members.follow(openid, f"evt:{openid}")
    await caught_up(services, facts_consumer(services, "t"))
    assert (await till.admin.post("/api/v1/admin/campaigns", campaign())).status == 201
    cancelled = await till.admin.post("/api/v1/admin/campaigns/spring/cancel", {"reason": "文案有误"})
    assert (cancelled.status, cancelled.json["status"]) == (200, "cancelled")
    assert await services.campaigns.send_due() == 0
    await sender.drain()
    assert await wired.wechat.all_messages() == []
    again = await till.admin.post("/api/v1/admin/campaigns/spring/cancel", {"reason": "再次"})
    assert (again.status, again.error) == (409, "campaign_closed")
    missing = await till.admin.get("/api/v1/admin/campaigns/nope")
    assert (missing.status, missing.error) == (404, "unknown_campaign")


async def test_a_tracked_link_counts_the_click_and_redirects(mall):
    wired, services, sender, till = mall
    openid = await wired.join("小林")
    await wired.say(openid, "你好")                  # opens the member's 48-hour window
    await wired.drain()
    await caught_up(services, facts_consumer(services, "t"))
    body = campaign(segment={}, holdout=0, channels={"mass_send": False}, variants=[
        {"name": "A", "weight": 1, "text": "{{ member.name }}，春季新品：{{ link('https://mall.example/spring') }}"}])
    assert (await till.admin.post("/api/v1/admin/campaigns", body)).status == 201
    await services.campaigns.send_due()
    await sender.drain()
    [message] = [m for m in await wired.wechat.delivered(openid) if "春季新品" in str(m["message"])]
    text = message["message"]["text"]["content"]
    path = "/r/" + text.rsplit("/r/", 1)[1]
    for _ in range(2):                              # a member's second click is not a second clicker
        followed = await wired.bot.get(path, allow_redirects=False)
        assert (followed.status, followed.headers["Location"]) == (302, "https://mall.example/spring")
    [arm] = (await till.admin.get("/api/v1/admin/campaigns/spring/results")).json["arms"][:1]
    assert (arm["arm"], arm["clicked"], arm["delivered"]) == ("A", 1, 1)
    assert (arm["uplift"], arm["z"], arm["p_value"]) == (None, None, None)     # no holdout to measure it against
    assert (await wired.bot.get("/r/nosuchtoken", allow_redirects=False)).status == 404


async def test_a_recurring_campaign_reaches_its_members_once_per_run(mall, clock):
    wired, services, sender, till = mall
    openids = await wired.wechat.add_followers(4, prefix="rc")
    for openid in openids:
        await services.members.follow(openid, f"evt:{openid}")
    await caught_up(services, facts_consumer(services, "t"))
    weekly = campaign(holdout=0, repeat="0 10 * * 1", variants=[{"name": "A", "weight": 1, "text": "本周会员专享"}])
    bad = await till.admin.post("/api/v1/admin/campaigns", weekly | {"campaign_id": "bad", "repeat": "0 25 * * *"})
    assert (bad.status, bad.error) == (422, "invalid_campaign") and "repeat: hour" in bad.json["error"]["message"]
    created = await till.admin.post("/api/v1/admin/campaigns", weekly)
    first = datetime.fromisoformat(created.json["send_at"])
    assert first.isoweekday() == 1 and (first.hour, first.minute) == (10, 0) and first > clock.now()
    assert await services.campaigns.send_due() == 0                # not yet
    for week in range(2):
        clock.set(first + timedelta(weeks=week, minutes=5))
        await wired.sandbox.client.advance((clock.now() - datetime.fromtimestamp(
            (await wired.wechat.clock())["now"], clock.now().tzinfo)).total_seconds())
        assert await services.campaigns.send_due() == 1
        assert await services.campaigns.send_due() == 0            # this week's run is done
        await sender.drain()
    status = (await till.admin.get("/api/v1/admin/campaigns/spring")).json
    assert (status["status"], status["runs"], status["planned"]) == ("scheduled", 2, 8)
    assert datetime.fromisoformat(status["next_send_at"]) == first + timedelta(weeks=2)
    [listed] = await services.campaigns.listed()                   # a list shows the next run, not the first
    assert (listed["repeat"], datetime.fromisoformat(listed["next_send_at"])) == ("0 10 * * 1",
                                                                                 first + timedelta(weeks=2))
    delivered = Counter(entry["openid"] for entry in await wired.wechat.all_messages())
    assert delivered == Counter({openid: 2 for openid in openids})


async def test_the_preferred_category_coupon_is_each_members_own(mall):
    wired, services, sender, till = mall
    diner, shopper, newcomer = await wired.wechat.add_followers(3, prefix="pc")
    members = [(await services.members.follow(o, f"evt:{o}")).member_id for o in (diner, shopper, newcomer)]
    await till.purchase({"openid": diner}, "300.00", category="dining")
    await till.purchase({"openid": shopper}, "300.00", category="fashion")
    await caught_up(services, facts_consumer(services, "t"))
    strict = campaign(segment={}, holdout=0, variants=[
        {"name": "A", "weight": 1, "text": "{{ coupon.title }}", "coupon_template": "@preferred_category"}])
    refused = await till.admin.post("/api/v1/admin/campaigns", strict)
    assert refused.status == 422 and "without a category coupon" in refused.json["error"]["message"]
    body = campaign(segment={}, holdout=0, variants=[
        {"name": "A", "weight": 1, "coupon_template": "@preferred_category",
         "text": "{% if coupon %}{{ member.category_name }}专享：{{ coupon.title }}{% else %}新品上市{% endif %}"}])
    assert (await till.admin.post("/api/v1/admin/campaigns", body)).status == 201
    await services.campaigns.send_due()
    held = [{c.template.id for c in await services.coupons.wallet(m) if c.source == "campaign:spring"}
            for m in members]
    assert held == [{"dining-200-30"}, {"fashion-15"}, set()]
    await sender.drain()
    status = (await till.admin.get("/api/v1/admin/campaigns/spring")).json
    assert (status["pending_inbox"], status["sent"]) == (3, 0)     # personal texts: no common mass send
    for openid in (diner, shopper, newcomer):                     # each writes: the campaign follows the reply
        await wired.say(openid, "你好")
    await wired.drain()
    await sender.drain()
    texts = {e["openid"]: e["message"]["text"]["content"] for e in await wired.wechat.all_messages(channel="custom")
             if "专享" in e["message"]["text"]["content"] or "新品" in e["message"]["text"]["content"]}
    assert texts == {diner: "餐饮专享：满200减30 餐饮券", shopper: "服饰专享：服饰 85 折券", newcomer: "新品上市"}


async def test_another_feature_launches_a_campaign_from_core_code(mall):
    wired, services, sender, till = mall
    openids = await wired.wechat.add_followers(3, prefix="ev")
    for openid in openids:
        await services.members.follow(openid, f"evt:{openid}")
    await caught_up(services, facts_consumer(services, "t"))
    variants = [{"name": "invite", "weight": Decimal(1), "text": "品酒会邀请：本周六 19:00"}]
    answer = await services.campaigns.launch("event-wine-1", "品酒会", {"lifecycle": ["potential"]}, variants,
                                             mass_send=True)
    again = await services.campaigns.launch("event-wine-1", "品酒会", {"lifecycle": ["potential"]}, variants,
                                            mass_send=True)
    assert answer == again
    await sender.drain()
    assert Counter(e["openid"] for e in await wired.wechat.all_messages()) == Counter({o: 1 for o in openids})


async def test_a_refund_within_the_conversion_days_takes_its_amount_off_the_campaigns_spend(mall, clock):
    wired, services, sender, till = mall
    [openid] = await wired.wechat.add_followers(1, prefix="rf")
    await services.members.follow(openid, f"evt:{openid}")
    await caught_up(services, facts_consumer(services, "t"))
    variants = [{"name": "all", "weight": Decimal(1), "text": "周末特惠"}]
    await services.campaigns.launch("refunds", "退款测算", {"lifecycle": ["potential"]}, variants, conversion_days=7)
    results = campaign_results_consumer(services, "t")
    assert (await till.purchase({"openid": openid}, "300.00", "T-r1")).status == 200
    assert (await till.refund("T-r1", "100.00", "R-r1")).status == 200
    await caught_up(services, results)
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)   # a redelivery counts nothing twice
    await caught_up(services, results)
    [arm, _] = (await till.admin.get("/api/v1/admin/campaigns/refunds/results")).json["arms"]
    assert (arm["purchasers"], arm["spend"]) == (1, "200.00")

    clock.advance(timedelta(days=8))                     # past the conversion days: the campaign's figures stay
    assert (await till.refund("T-r1", "50.00", "R-r2")).status == 200
    await caught_up(services, results)
    [arm, _] = (await till.admin.get("/api/v1/admin/campaigns/refunds/results")).json["arms"]
    assert (arm["purchasers"], arm["spend"]) == (1, "200.00")


async def test_a_send_cut_short_and_taken_up_again_reaches_each_member_once(mall):
    wired, services, sender, till = mall
    openids = await wired.wechat.add_followers(60, prefix="cs")
    members = {(await services.members.follow(o, f"evt:{o}")).member_id: o for o in openids}
    await caught_up(services, facts_consumer(services, "t"))
    assert (await till.admin.post("/api/v1/admin/campaigns", campaign())).status == 201
    definition = (await services.campaigns.stored("spring"))[1]
    await services.campaigns.deliver(definition, sorted(members)[:25])   # what a send that died had done
    assert await services.campaigns.send_due() == 1
    await sender.drain()

    arms = {m: arm_for("spring", m, definition) for m in members}
    reached = {o for m, o in members.items() if arms[m] != HOLDOUT}
    assert Counter(e["openid"] for e in await wired.wechat.all_messages()) == Counter({o: 1 for o in reached})
    for member_id, openid in members.items():
        issued = [c for c in await services.coupons.wallet(member_id) if c.source == "campaign:spring"]
        assert len(issued) == (openid in reached)
    status = (await till.admin.get("/api/v1/admin/campaigns/spring")).json
    assert (status["audience"], status["planned"], status["sent"]) == (60, len(reached), len(reached))
    arms_shown = (await till.admin.get("/api/v1/admin/campaigns/spring/results")).json["arms"]
    assert sum(arm["coupons_issued"] for arm in arms_shown) == len(reached)
