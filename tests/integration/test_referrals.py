"""Referrals with the bot and the WeChat sandbox together: the QR code, attribution through a real scan,
rewards after the refund window (consumed from the outbox stream), every refusal with its reason."""
from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import datetime, timedelta

import orjson
import pytest

from bot.app_keys import SERVICES
from bot.events import referral_consumer
from bot.images import qr_png
from loyalty_core import keys
from loyalty_core.clock import MALL_TZ
from loyalty_core.members import FollowResult, MemberService
from loyalty_core.redis_store.members import RedisMemberStore
from loyalty_core.redis_store.referral import RedisReferralStore
from loyalty_core.redis_store.stream_consumer import StreamConsumer
from loyalty_core.referral import REFERRAL_GROUP, ReferralService, month_of
from tests.fixtures_bot import CapturingSms, Wired, reply_text
from tests.integration.till import Till

PHONES = iter(f"1390013{n:04d}" for n in range(10_000))


class Journey:
    """The wired bot and sandbox, a till, and the referral consumer stepped by hand."""

    def __init__(self, wired: Wired, clock):
        self.wired = wired
        self.clock = clock
        self.till = Till(wired.bot, clock)
        self.services = wired.bot.server.app[SERVICES]
        self.consumer = referral_consumer(self.services, "test-consumer")

    @property
    def referrals(self):
        return self.services.referrals

    async def member(self, nickname: str) -> tuple[str, str]:
        """A follower: (openid, member_id)."""
        openid = await self.wired.join(nickname)
        return openid, await self.services.members.member_id_for_openid(openid)

    async def qr_ticket(self, openid: str) -> str:
        await self.wired.say(openid, "推荐")
        member_id = await self.services.members.member_id_for_openid(openid)
        return next(q["ticket"] for q in await self.wired.wechat.qrcodes() if q["scene"] == f"ref:{member_id}")

    async def scan_in(self, nickname: str, ticket: str) -> tuple[str, str, str]:
        """A new persona scans the code to follow: (openid, member_id, the bot's reply)."""
        persona = await self.wired.wechat.add_member(nickname=nickname)
        outcome = await self.wired.wechat.scan(persona["openid"], ticket=ticket)
        member_id = await self.services.members.member_id_for_openid(persona["openid"])
        return persona["openid"], member_id, reply_text(outcome)

    async def bind_phone(self, member_id: str, phone: str | None = None) -> str:
        phone = phone or next(PHONES)
        sms = CapturingSms()
        members = MemberService(RedisMemberStore(self.services.redis, self.services.scripts, self.services.outbox),
                                self.services.pii, sms, self.clock)
        await members.request_phone_code(member_id, phone)
        await members.verify_phone(member_id, sms.codes[phone])
        return phone

    async def balance(self, member_id: str) -> int:
        return (await self.services.points.summary(member_id, self.clock.now())).balance

    async def status(self, member_id: str) -> tuple[str, str]:
        record = await self.referrals.referee_record(member_id)
        return record.get("status", ""), record.get("reason", "")

    async def rejections(self, referrer_id: str) -> list[str]:
        return [r["reason"] for r in await self.referrals.rejections(referrer_id)]


@pytest.fixture
async def journey(start_wired, clock, redis) -> Journey:
    return Journey(await start_wired(), clock)


async def rejected_events(redis) -> list[dict]:
    return [orjson.loads(f["event"])["data"] for _, f in await redis.xrange(keys.OUTBOX_STREAM)
            if f["type"] == "referral_rejected"]


# -- the whole journey ------------------------------------------------------------------------------------
async def test_a_referral_from_the_qr_code_to_the_released_reward(journey: Journey, redis):
    wechat = journey.wired.wechat
    amy, amy_id = await journey.member("阿美")
    await redis.hset(keys.member_profile(amy_id), "nickname", "阿美")
    reply = await journey.wired.say(amy, "推荐")
    assert "已邀请 0 人" in reply and "500 积分" in reply
    await journey.wired.drain()
    [image] = [m["message"] for m in await wechat.delivered(amy, channel="custom")
               if m["message"]["msgtype"] == "image"]
    [code] = await wechat.qrcodes()
    assert code["scene"] == f"ref:{amy_id}" and code["action_name"] == "QR_STR_SCENE"
    png = await wechat.session.get(f"{wechat.base_url}/sandbox/media/{image['image']['media_id']}")
    assert await png.read() == qr_png(code["url"])

    bob, bob_id, welcome = await journey.scan_in("小博", code["ticket"])
    assert "欢迎加入" in welcome and "由好友 阿* 邀请加入" in welcome
    await journey.bind_phone(bob_id)
    purchase = await journey.till.purchase({"openid": bob}, "300.00")
    assert purchase.status == 200
    assert (await journey.consumer.drain()).handled == 1
    assert await journey.status(bob_id) == ("pending", "")
    assert "待发放 1 人" in await journey.wired.say(amy, "推荐")
    assert await journey.referrals.release_due() == []                          # the window is still open

    journey.clock.advance(days=7, minutes=1)
    [released] = await journey.referrals.release_due()
    assert (released.status, released.referrer_points) == ("released", 500)
    assert await journey.status(bob_id) == ("released", "")
    assert await journey.balance(amy_id) == 500 and await journey.balance(bob_id) == 300 + 200
    assert [c.template.id for c in await journey.services.coupons.wallet(bob_id)] == ["welcome-20", "referral-welcome"]
    told = [step for step in await journey.services.pushes.deliveries(amy_id) if step.topic == "referral_reward"]
    assert told and len({step.push_id for step in told}) == 1           # the referrer is told, once
    assert await journey.referrals.release_due() == []                          # paid once
    stats = await journey.referrals.stats(amy_id)
    assert (stats.joined, stats.rewarded, stats.pending, stats.rank) == (1, 1, 0, 1)
    board = await journey.wired.say(bob, "推荐榜")
    assert "1. 阿* 1 人" in board and "还没有推荐成功" in board


async def test_a_refund_inside_the_window_cancels_the_reward(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    ticket = await journey.qr_ticket(amy)
    cai, cai_id, _ = await journey.scan_in("小蔡", ticket)
    await journey.bind_phone(cai_id)
    await journey.till.purchase({"openid": cai}, "300.00", txn_id="T-cai-1")
    await journey.consumer.drain()
    journey.clock.advance(days=6)
    assert (await journey.till.refund("T-cai-1", "100.00")).status == 200
    await journey.consumer.drain()
    assert await journey.status(cai_id) == ("cancelled", "refunded")
    journey.clock.advance(days=2)
    assert await journey.referrals.release_due() == []
    assert await journey.balance(amy_id) == 0
    stats = await journey.referrals.stats(amy_id)
    assert (stats.joined, stats.rewarded, stats.pending) == (1, 0, 0)


async def test_a_refund_after_the_window_does_not_cancel(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    dan, dan_id, _ = await journey.scan_in("小丹", await journey.qr_ticket(amy))
    await journey.bind_phone(dan_id)
    await journey.till.purchase({"openid": dan}, "300.00", txn_id="T-dan-1")
    await journey.consumer.drain()
    journey.clock.advance(days=8)
    await journey.till.refund("T-dan-1", "300.00")
    await journey.consumer.drain()
    assert await journey.status(dan_id) == ("pending", "")
    [released] = await journey.referrals.release_due()
    assert released.status == "released"


async def test_a_refund_seen_before_the_first_purchase_event_still_cancels(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    eli, eli_id, _ = await journey.scan_in("小艾", await journey.qr_ticket(amy))
    await journey.till.purchase({"openid": eli}, "300.00", txn_id="T-eli-1")
    await journey.till.refund("T-eli-1", "300.00")
    events = {e["type"]: e for e in await journey.services.outbox.read() if e["member_id"] == eli_id}
    await journey.referrals.on_refund(events["purchase_refunded"])            # out of order, as two consumers may
    await journey.referrals.on_first_purchase(events["first_purchase"])
    assert await journey.status(eli_id) == ("cancelled", "refunded")
    assert (await journey.referrals.stats(amy_id)).pending == 0


async def first_purchase_cut_short(journey: Journey, referrer_id: str, referee_id: str) -> dict:
    """The consumer's first attempt at the referee's first_purchase event ran the two scripts, then its
    process died (before scheduling or giving a place back); the entry stays pending for another consumer."""
    [event] = [e for e in await journey.services.outbox.read() if e["type"] == "first_purchase"
               and e["member_id"] == referee_id]
    store = RedisReferralStore(journey.services.redis, journey.services.scripts, journey.services.outbox)
    now, rules = journey.clock.now(), journey.referrals.rules
    purchased_at = datetime.fromisoformat(event["data"]["occurred_at"])
    reserved = await store.reserve(referrer_id, referee_id, month_of(purchased_at), rules.monthly_cap, now)
    await store.pending(referee_id, event["data"]["txn_id"], purchased_at, purchased_at + rules.refund_window,
                        reserved, now)
    return event


async def test_a_first_purchase_handled_again_after_a_crash_still_schedules_the_reward(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    nan, nan_id, _ = await journey.scan_in("小南", await journey.qr_ticket(amy))
    await journey.bind_phone(nan_id)
    await journey.till.purchase({"openid": nan}, "300.00")
    event = await first_purchase_cut_short(journey, amy_id, nan_id)
    await journey.referrals.on_first_purchase(event)                       # the entry, re-claimed
    journey.clock.advance(days=7, minutes=1)
    [released] = await journey.referrals.release_due()
    assert (released.referee_id, released.status, released.referrer_points) == (nan_id, "released", 500)
    assert await journey.balance(amy_id) == 500


async def test_a_first_purchase_handled_again_after_a_crash_gives_a_refunded_rewards_place_back(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    ola, ola_id, _ = await journey.scan_in("小欧", await journey.qr_ticket(amy))
    await journey.till.purchase({"openid": ola}, "300.00", txn_id="T-ola-1")
    await journey.till.refund("T-ola-1", "300.00")
    [refund] = [e for e in await journey.services.outbox.read() if e["type"] == "purchase_refunded"]
    await journey.referrals.on_refund(refund)
    event = await first_purchase_cut_short(journey, amy_id, ola_id)
    assert await journey.status(ola_id) == ("cancelled", "refunded")
    await journey.referrals.on_first_purchase(event)
    assert (await journey.referrals.stats(amy_id)).pending == 0
    referee_entry = await journey.services.redis.hget(keys.member_referees(amy_id), ola_id)
    assert orjson.loads(referee_entry)["reason"] == "refunded"


async def test_a_refund_after_the_window_seen_before_the_first_purchase_event_does_not_cancel(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    pia, pia_id, _ = await journey.scan_in("小皮", await journey.qr_ticket(amy))
    await journey.bind_phone(pia_id)
    await journey.till.purchase({"openid": pia}, "300.00", txn_id="T-pia-1")
    journey.clock.advance(days=8)                                         # the consumer was behind
    await journey.till.refund("T-pia-1", "300.00")
    events = {e["type"]: e for e in await journey.services.outbox.read() if e["member_id"] == pia_id}
    await journey.referrals.on_refund(events["purchase_refunded"])
    await journey.referrals.on_first_purchase(events["first_purchase"])
    assert await journey.status(pia_id) == ("pending", "")
    [released] = await journey.referrals.release_due()
    assert released.status == "released"


# -- attribution refused, with the reason recorded ----------------------------------------------------------
async def test_a_follower_who_scans_is_not_attributed(journey: Journey, redis):
    amy, amy_id = await journey.member("阿美")
    ticket = await journey.qr_ticket(amy)
    fay, fay_id = await journey.member("小菲")
    outcome = await journey.wired.wechat.scan(fay, ticket=ticket)
    assert "已经是会员" in reply_text(outcome)
    assert await journey.status(fay_id) == ("", "")
    assert await journey.rejections(amy_id) == ["already_follower"]
    assert {"referrer_id": amy_id, "reason": "already_follower"} in await rejected_events(redis)


async def test_a_former_follower_who_comes_back_through_the_code_is_not_attributed(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    ticket = await journey.qr_ticket(amy)
    gus, gus_id = await journey.member("小古")
    await journey.wired.wechat.unfollow(gus)
    await journey.wired.wechat.advance(2)          # WeChat tells a member's events apart by their second
    outcome = await journey.wired.wechat.scan(gus, ticket=ticket)              # a subscribe with the scene
    assert "欢迎回来" in reply_text(outcome) and "邀请" not in reply_text(outcome)
    assert await journey.rejections(amy_id) == ["returning_follower"]


async def test_scanning_ones_own_code_is_not_attributed(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    outcome = await journey.wired.wechat.scan(amy, ticket=await journey.qr_ticket(amy))
    assert "您自己的推荐二维码" in reply_text(outcome)
    assert await journey.rejections(amy_id) == ["self_referral"]
    assert (await journey.referrals.stats(amy_id)).joined == 0


async def test_a_referrer_who_unfollowed_or_never_existed_gets_no_referee(journey: Journey, redis):
    amy, amy_id = await journey.member("阿美")
    ticket = await journey.qr_ticket(amy)
    await journey.wired.wechat.unfollow(amy)
    _, hal_id, reply = await journey.scan_in("小哈", ticket)
    assert "欢迎加入" in reply and "邀请" not in reply
    assert await journey.rejections(amy_id) == ["referrer_unsubscribed"]
    ivy = await journey.wired.wechat.add_member(nickname="小艾薇")
    await journey.wired.wechat.scan(ivy["openid"], scene="ref:999999")
    reasons = {(e["referrer_id"], e["reason"]) for e in await rejected_events(redis)}
    assert reasons == {(amy_id, "referrer_unsubscribed"), ("999999", "unknown_referrer")}
    assert await journey.status(hal_id) == ("", "")


async def test_one_referrer_per_member(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    ben, ben_id = await journey.member("阿本")
    _, jo_id, _ = await journey.scan_in("小乔", await journey.qr_ticket(amy))
    new_follow = FollowResult(jo_id, is_new=True, restored=False)
    again = await journey.referrals.attribute(jo_id, amy_id, new_follow, "evt:retry")
    other = await journey.referrals.attribute(jo_id, ben_id, new_follow, "evt:other")
    assert again.attributed and (other.attributed, other.reason) == (False, "already_referred")
    assert (await journey.referrals.referee_record(jo_id))["referrer"] == amy_id
    assert await journey.rejections(ben_id) == ["already_referred"]
    assert (await journey.referrals.stats(amy_id)).joined == 1


# -- rewards refused, with the reason recorded ------------------------------------------------------------
async def test_a_referee_without_a_bound_phone_earns_no_reward(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    kay, kay_id, _ = await journey.scan_in("小凯", await journey.qr_ticket(amy))
    await journey.till.purchase({"openid": kay}, "300.00")
    await journey.consumer.drain()
    journey.clock.advance(days=8)
    [release] = await journey.referrals.release_due()
    assert (release.status, release.reason) == ("cancelled", "no_phone")
    assert await journey.balance(amy_id) == 0 and (await journey.referrals.stats(amy_id)).pending == 0


async def referee_with_a_first_purchase(journey: Journey) -> tuple[str, str, str]:
    """(referrer member_id, referee openid, referee member_id): attributed, phone bound, first purchase handled."""
    amy, amy_id = await journey.member("阿美")
    bob, bob_id, _ = await journey.scan_in("小博", await journey.qr_ticket(amy))
    await journey.bind_phone(bob_id)
    assert (await journey.till.purchase({"openid": bob}, "300.00")).status == 200
    await journey.consumer.drain()
    return amy_id, bob, bob_id


async def test_a_referee_who_unfollowed_holds_the_reward_and_is_paid_on_coming_back(journey: Journey):
    amy_id, bob, bob_id = await referee_with_a_first_purchase(journey)
    await journey.wired.wechat.unfollow(bob)
    journey.clock.advance(days=7, minutes=1)
    [held] = await journey.referrals.release_due()
    assert held.status == "held" and await journey.status(bob_id) == ("held", "")
    assert await journey.balance(amy_id) == 0
    journey.clock.advance(days=10)
    assert await journey.referrals.release_due() == []              # due again when the hold ends, not before
    await journey.wired.wechat.follow(bob)                           # back within the hold: paid at once
    assert (await journey.consumer.drain()).handled >= 1
    assert await journey.status(bob_id) == ("released", "")
    assert await journey.balance(amy_id) == 500 and await journey.balance(bob_id) == 300 + 200
    journey.clock.advance(days=30)
    assert await journey.referrals.release_due() == []              # paid once: nothing is due any more


async def test_a_referee_who_does_not_come_back_within_the_hold_cancels_the_reward(journey: Journey):
    amy_id, bob, bob_id = await referee_with_a_first_purchase(journey)
    await journey.wired.wechat.unfollow(bob)
    journey.clock.advance(days=7, minutes=1)
    assert [r.status for r in await journey.referrals.release_due()] == ["held"]
    journey.clock.advance(journey.referrals.rules.unfollowed_hold + timedelta(minutes=1))
    [cancelled] = await journey.referrals.release_due()
    assert (cancelled.status, cancelled.reason) == ("cancelled", "referee_unfollowed")
    assert await journey.status(bob_id) == ("cancelled", "referee_unfollowed")
    await journey.wired.wechat.follow(bob)                           # too late now
    await journey.consumer.drain()
    assert await journey.status(bob_id) == ("cancelled", "referee_unfollowed")
    assert await journey.balance(amy_id) == 0
    assert (await journey.referrals.stats(amy_id)).pending == 0      # the place under the cap is given back


async def test_a_phone_that_already_made_a_rewarded_referee_cannot_make_another(journey: Journey):
    amy, amy_id = await journey.member("阿美")
    ticket = await journey.qr_ticket(amy)
    leo, leo_id, _ = await journey.scan_in("小里", ticket)
    phone = await journey.bind_phone(leo_id)
    await journey.till.purchase({"openid": leo}, "300.00")
    await journey.consumer.drain()
    journey.clock.advance(days=8)
    assert [r.status for r in await journey.referrals.release_due()] == ["released"]
    await journey.bind_phone(leo_id)                       # leo moves to another number, freeing the first
    mia, mia_id, _ = await journey.scan_in("小米", ticket)
    await journey.bind_phone(mia_id, phone)                # the same person, as a second referee
    await journey.till.purchase({"openid": mia}, "300.00")
    await journey.consumer.drain()
    journey.clock.advance(days=8)
    [release] = await journey.referrals.release_due()
    assert (release.status, release.reason) == ("cancelled", "phone_reused")
    assert await journey.balance(amy_id) == 500


def service_with(journey: Journey, **rules) -> ReferralService:
    """The same stores and services, under other referral rules of the program file."""
    services = journey.services
    program = dataclasses.replace(services.program, referral=dataclasses.replace(services.program.referral, **rules))
    return ReferralService(RedisReferralStore(services.redis, services.scripts, services.outbox), services.members,
                           services.points, program, journey.clock, services.coupons)


async def referee_buys(journey: Journey, referrals: ReferralService, referrer_id: str, n: int) -> str:
    _, member_id = await journey.member(f"被推荐{n}")
    await referrals.attribute(member_id, referrer_id, FollowResult(member_id, True, False), f"evt:{n}")
    await journey.till.purchase({"member_code": (await journey.services.member_codes.issue(member_id)).code},
                                "150.00")
    return member_id


async def drain_with(journey: Journey, referrals: ReferralService) -> None:
    await StreamConsumer(journey.services.redis, REFERRAL_GROUP, "test-rules", {
        "first_purchase": referrals.on_first_purchase, "purchase_refunded": referrals.on_refund}).drain()


async def test_the_monthly_cap_and_the_referrer_levels(journey: Journey):
    referrals = service_with(journey, monthly_cap=3, require_phone=False, referee_coupon="",
                             levels=journey.services.program.referral.levels[:1] + (
                                 dataclasses.replace(journey.services.program.referral.levels[0], code="two",
                                                     name="二级", min_rewarded=2),))
    _, amy_id = await journey.member("阿美")
    referees = [await referee_buys(journey, referrals, amy_id, n) for n in range(4)]
    await drain_with(journey, referrals)
    assert [(await journey.status(r))[1] for r in referees] == ["", "", "", "monthly_cap"]
    journey.clock.advance(days=8)
    released = await referrals.release_due()
    assert [(r.status, r.referrer_points) for r in released] == [("released", 500), ("released", 500),
                                                                 ("released", 750)]   # level "two" after 2
    journey.clock.advance(days=31)                          # a new month: room under the cap again
    late = await referee_buys(journey, referrals, amy_id, 9)
    await drain_with(journey, referrals)
    assert await journey.status(late) == ("pending", "")
    stats = await referrals.stats(amy_id)
    assert (stats.rewarded, stats.pending, stats.level.code) == (3, 1, "two")


async def test_the_monthly_cap_holds_when_first_purchases_are_handled_at_once(journey: Journey):
    referrals = service_with(journey, monthly_cap=3, require_phone=False, referee_coupon="")
    _, amy_id = await journey.member("阿美")
    referees = [await referee_buys(journey, referrals, amy_id, n) for n in range(6)]
    events = [e for e in await journey.services.outbox.read() if e["type"] == "first_purchase"]
    await asyncio.gather(*(referrals.on_first_purchase(event) for event in events))   # several consumers
    reasons = sorted([(await journey.status(r))[1] for r in referees])
    assert reasons == ["", "", "", "monthly_cap", "monthly_cap", "monthly_cap"]
    assert (await referrals.stats(amy_id)).pending == 3


async def test_the_referee_record_keeps_the_tills_purchase_time_and_the_window_runs_from_it(journey: Journey):
    referrals = service_with(journey, require_phone=False, referee_coupon="")
    _, amy_id = await journey.member("阿美")
    _, bo_id = await journey.member("小博")
    await referrals.attribute(bo_id, amy_id, FollowResult(bo_id, True, False), "evt:bo")
    purchased_at = journey.clock.now() - timedelta(days=2)                   # a till that was offline
    code = (await journey.services.member_codes.issue(bo_id)).code
    await journey.till.purchase({"member_code": code}, "150.00", occurred_at=purchased_at.isoformat())
    journey.clock.advance(hours=3)                                           # the consumer was behind
    await drain_with(journey, referrals)
    record = await referrals.referee_record(bo_id)
    assert datetime.fromisoformat(record["purchased_at"]) == purchased_at
    assert datetime.fromisoformat(record["due_at"]) == purchased_at + referrals.rules.refund_window


async def test_the_month_shown_next_to_the_cap_is_the_count_the_cap_holds(journey: Journey):
    """Rewards of late-January purchases are paid in February; February's own first purchases fill
    February's cap. The member sees the count the cap is measured on, never more than the cap."""
    referrals = service_with(journey, monthly_cap=2, require_phone=False, referee_coupon="")
    _, amy_id = await journey.member("阿美")
    journey.clock.set(datetime(2026, 1, 28, 10, 0, tzinfo=MALL_TZ))
    [await referee_buys(journey, referrals, amy_id, n) for n in range(2)]
    await drain_with(journey, referrals)
    journey.clock.set(datetime(2026, 2, 2, 10, 0, tzinfo=MALL_TZ))
    february = [await referee_buys(journey, referrals, amy_id, n) for n in range(2, 5)]
    await drain_with(journey, referrals)
    assert [(await journey.status(r))[1] for r in february] == ["", "", "monthly_cap"]
    journey.clock.advance(days=8)
    assert [r.status for r in await referrals.release_due()] == ["released"] * 4
    stats = await referrals.stats(amy_id)
    assert (stats.month_counted, stats.monthly_cap, stats.rewarded) == (2, 2, 4)


async def test_a_referee_whose_release_fails_is_retried_next_round_and_holds_back_no_other(journey: Journey, redis,
                                                                                          caplog):
    referrals = service_with(journey, require_phone=False, referee_coupon="")
    _, amy_id = await journey.member("阿美")
    referees = [await referee_buys(journey, referrals, amy_id, n) for n in range(3)]
    await drain_with(journey, referrals)
    [broken] = await redis.zrange(keys.REFERRAL_DUE_INDEX, 0, 0)                # the first one due
    await redis.hset(keys.member_referee(broken), "due_ms", "soon")             # its record damaged
    journey.clock.advance(days=8)
    released = await referrals.release_due(batch=1)
    assert sorted((r.referee_id, r.status) for r in released) == sorted(
        (r, "failed" if r == broken else "released") for r in referees)
    assert await journey.balance(amy_id) == 2 * 500
    assert f"referee {broken} not released (ResponseError)" in caplog.text
    assert [(r.referee_id, r.status) for r in await referrals.release_due()] == [(broken, "failed")]
    assert await redis.zrange(keys.REFERRAL_DUE_INDEX, 0, -1) == [broken] and await journey.status(broken) == (
        "pending", "")


# -- the QR code itself -------------------------------------------------------------------------------------
async def test_the_qr_code_and_its_image_are_reused_and_renewed_before_they_run_out(journey: Journey):
    amy, _ = await journey.member("阿美")
    wechat = journey.wired.wechat

    async def counts() -> tuple[int, int]:
        return len(await wechat.calls("qrcode/create")), len(await wechat.calls("media/upload"))

    await journey.wired.say(amy, "推荐")
    await journey.wired.say(amy, "invite")
    assert await counts() == (1, 1)
    journey.clock.advance(days=2, hours=23)
    await journey.wired.say(amy, "我的二维码")
    assert await counts() == (1, 2)                         # temporary media lives 3 days
    journey.clock.advance(days=26, hours=2)                 # less than a day left on the 30-day code
    await journey.wired.say(amy, "推荐")
    assert await counts() == (2, 3)
    tickets = [q["ticket"] for q in await wechat.qrcodes()]
    assert len(set(tickets)) == 2
    await journey.wired.drain()
    images = [m for m in await wechat.delivered(amy, channel="custom") if m["message"]["msgtype"] == "image"]
    assert len(images) == 4 and re.fullmatch(r"[\w-]+", images[-1]["message"]["image"]["media_id"])


async def test_when_wechat_cannot_make_the_code_the_referral_text_still_answers(journey: Journey, caplog):
    amy, _ = await journey.member("阿美")
    await journey.wired.wechat.fault("qrcode/create", errcode=40005, errcode_next=1)
    assert "已邀请 0 人" in await journey.wired.say(amy, "推荐")
    assert "referral QR code not made: PermanentError" in caplog.text
    await journey.wired.drain()
    assert await journey.wired.wechat.delivered(amy, channel="custom") == []
    assert await journey.wired.wechat.qrcodes() == []
