"""The headline metrics the daily totals give: the coupon use rate, the member-day uplift (member-day spend per
active member against other days) and the member-day sign-up uplift (new members joining on member days against
other days), each counted once per event, refunds taken off the purchase's day."""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.app_keys import SERVICES
from bot.events import facts_consumer, metrics_consumer
from loyalty_core.clock import MALL_TZ
from tests.integration.till import Till


@pytest.fixture
async def mall(start_bot, clock, redis):
    client = await start_bot()
    services = client.server.app[SERVICES]
    return Till(client, clock), services


async def caught_up(services, *consumers) -> None:
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    for consumer in consumers:
        await consumer.drain()


def at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=MALL_TZ)


async def test_coupon_use_and_member_day_uplift(mall, clock, redis):
    till, services = mall
    facts, totals = facts_consumer(services, "t"), metrics_consumer(services, "t")
    clock.set(at(16))
    amy = (await services.members.follow("o_amy", "evt:o_amy")).member_id
    ben = (await services.members.follow("o_ben", "evt:o_ben")).member_id
    for member_id in (amy, ben):
        await services.coupons.issue(member_id, "welcome-20", f"test:{member_id}")
    await till.purchase({"openid": "o_amy"}, "100.00", "T-16")
    clock.set(at(17))
    await till.purchase({"openid": "o_ben"}, "100.00", "T-17")
    clock.set(at(18))                                                       # the member day
    await till.purchase({"openid": "o_amy"}, "300.00", "T-18a")
    await till.purchase({"openid": "o_ben"}, "250.00", "T-18b")
    [welcome] = await services.coupons.wallet(amy)
    used = await till.post(f"/api/v1/coupons/{welcome.code}/redeem", {"txn_id": "T-18a", "amount": "300.00"})
    assert used.status == 200, used.json
    clock.set(at(19))
    assert (await till.refund("T-18b", "50.00", "R-18b")).status == 200  # taken off the 18th, not the 19th
    await caught_up(services, facts, totals)
    await caught_up(services, facts, totals)                              # a second pass counts nothing again

    clock.set(at(20))
    today = (await till.admin.get("/api/v1/admin/metrics")).json["today"]
    assert today["coupon_use_rate"] == 0.5                                # 1 of the 2 welcome coupons
    # 16th to 19th: member day 500.00 between 2 active members; the other days (100 + 100 + 0) / 3 days
    assert (today["member_day_spend_per_active"], today["other_day_spend_per_active"]) == ("250.00", "33.33")
    assert today["member_day_uplift"] == round(50_000 / (20_000 // 3) - 1, 4)
    gauges = await (await till.client.get("/metrics")).text()
    assert f'member_programme_headline{{metric="member_day_uplift",tier=""}} {today["member_day_uplift"]}' in gauges
    assert 'member_programme_headline{metric="coupon_use_rate",tier=""} 0.5' in gauges


async def test_member_day_sign_up_uplift_counts_each_new_member_once_on_the_day_they_joined(mall, clock, redis):
    till, services = mall
    totals = metrics_consumer(services, "t")
    joins = {16: ["o_amy"], 17: ["o_ben"], 18: ["o_cat", "o_dan", "o_eve"], 19: []}      # the 18th: the member day
    for day, openids in joins.items():
        clock.set(at(day))
        for openid in openids:
            await services.members.follow(openid, f"evt:{openid}")
            await services.members.follow(openid, f"evt:{openid}")                       # WeChat's retry
    clock.set(at(18, 1).replace(hour=15))
    await services.members.unfollow("o_ben", "evt:o_ben:left")
    await services.members.follow("o_ben", "evt:o_ben:back")                            # back again: not new
    await caught_up(services, totals)
    await caught_up(services, totals)                                                   # counted once

    clock.set(at(20))
    today = (await till.admin.get("/api/v1/admin/metrics")).json["today"]
    # 16th to 19th: 3 on the member day; (1 + 1 + 0) / 3 on an average other day
    assert (today["member_day_sign_ups"], today["other_day_sign_ups"]) == (3.0, 0.67)
    assert today["member_day_sign_up_uplift"] == 3.5
    gauges = await (await till.client.get("/metrics")).text()
    assert 'member_programme_headline{metric="member_day_sign_up_uplift",tier=""} 3.5' in gauges
