"""A campaign's send split between processes (CAMPAIGN_PROCESSES): each member falls to exactly one share, a send
whose process died is taken up again by sending again, and in the end each member of a variant has their message
and coupon once, the holdout nothing."""
from __future__ import annotations

from collections import Counter

import pytest

from bot.app_keys import SERVICES
from bot.campaign_shares import ProcessShares, ShareWorker
from bot.events import facts_consumer
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core.campaign_rules import HOLDOUT, arm_for, share_of
from tests.fixtures_bot import bot_settings
from tests.fixtures_push import align_clock
from tests.integration.test_campaigns import campaign, caught_up
from tests.integration.till import Till


@pytest.fixture
async def mall(start_wired, clock, make_sender, redis):
    wired = await start_wired()
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    return wired, wired.bot.app[SERVICES], await make_sender(wired.sandbox), Till(wired.bot, clock)


class SecondProcessDies:
    """Two shares: the sending process delivers the first, the process of the second dies."""
    count = 2

    async def deliver(self, campaign_id: str, run: str) -> None:
        raise RuntimeError("the second process died")


def campaigns_with(shares, redis, clock, redis_url):
    return build_services(redis, clock, bot_settings(redis_url).pii_key_bytes, LogSmsSender(),
                          campaign_shares=shares).campaigns


async def test_a_send_split_between_two_processes_cut_short_and_taken_up_again_reaches_each_member_once(
        mall, redis, clock, redis_url):
    wired, services, sender, till = mall
    openids = await wired.wechat.add_followers(80, prefix="sh")
    members = {(await services.members.follow(o, f"evt:{o}")).member_id: o for o in openids}
    await caught_up(services, facts_consumer(services, "t"))
    assert (await till.admin.post("/api/v1/admin/campaigns", campaign())).status == 201
    with pytest.raises(RuntimeError):
        await campaigns_with(SecondProcessDies(), redis, clock, redis_url).send("spring")
    assert (await services.campaigns.status("spring"))["status"] == "sending"
    first = {m for m in members if share_of(m, 2) == 0}
    assert 0 < len(first) < len(members) and (await services.campaigns.status("spring"))["audience"] == len(first)

    shares = ProcessShares(ShareWorker(redis_url, bot_settings(redis_url).pii_key_bytes, fixed_now=clock.now()), 2)
    assert await campaigns_with(shares, redis, clock, redis_url).send("spring")
    await sender.drain()

    definition = (await services.campaigns.stored("spring"))[1]
    reached = {o for m, o in members.items() if arm_for("spring", m, definition) != HOLDOUT}
    assert Counter(e["openid"] for e in await wired.wechat.all_messages()) == Counter({o: 1 for o in reached})
    for member_id, openid in members.items():
        issued = [c for c in await services.coupons.wallet(member_id) if c.source == "campaign:spring"]
        assert len(issued) == (openid in reached)
    status = await services.campaigns.status("spring")
    assert (status["status"], status["audience"], status["planned"]) == ("sent", 80, len(reached))

