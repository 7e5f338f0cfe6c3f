"""Member events with the bot, the sandbox and a sender wired together: places and the waitlist under concurrent
sign-ups, promotions told once, reminders once however often the job runs, the priority window, community-only
events and their invitations, check-in with activity points and feedback."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import pytest

from bot.app_keys import SERVICES
from bot.events import facts_consumer
from loyalty_core import errors, keys
from loyalty_core.clock import MALL_TZ
from tests.fixtures_push import advance, align_clock
from tests.integration.till import Till
from tests.pushes import followers


@pytest.fixture
async def mall(start_wired, clock, make_sender, redis):
    wired = await start_wired()
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    return wired, wired.bot.app[SERVICES], await make_sender(wired.sandbox), Till(wired.bot, clock)


def definition(clock, event_id: str = "tasting", *, capacity: int = 50, starts_in_hours: float = 72, **changes) -> dict:
    starts = clock.now() + timedelta(hours=starts_in_hours)
    return {"event_id": event_id, "title": "春季品酒会", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(), "place": "三楼中庭", "capacity": capacity,
            "community_id": None, "min_tier": None, "priority_tiers_hours": {},
            "signup_deadline": (starts - timedelta(hours=1)).isoformat(), "notes": "请着正装，可携一位家属"} | changes


async def bulk_members(wired, services, count: int, prefix: str = "oEvent"):
    await wired.wechat.add_followers(count, prefix)
    return await followers(services, count, prefix)


async def caught_up(services) -> None:
    """The members' segmentation facts (what a campaign's segment reads) as `serve`'s consumer keeps them."""
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await facts_consumer(services, "t").drain()


async def delivered(wired, openid: str) -> list[str]:
    """What the bot sent the member first: customer-service texts, or the notice's first field."""
    shown = []
    for entry in await wired.wechat.delivered(openid):
        if entry["channel"] == "custom":
            shown.append(entry["message"]["text"]["content"])
        elif entry["channel"] in ("template", "subscribe"):
            shown.append(entry["message"]["notice"]["title"])
    return shown


async def test_200_concurrent_sign_ups_for_50_places_confirm_50_and_waitlist_150_in_arrival_order(mall, redis):
    wired, services, sender, till = mall
    event = await services.events.publish(definition(services.clock, capacity=50))
    members = await bulk_members(wired, services, 200)
    places = await asyncio.gather(*(services.events.sign_up(m.member_id, event.number) for m in members))
    assert Counter(place.status for place in places) == {"confirmed": 50, "waitlisted": 150}
    assert sorted(place.position for place in places if place.status == "waitlisted") == list(range(1, 151))
    by_position = {place.position: member.member_id for member, place in zip(members, places)
                   if place.status == "waitlisted"}
    assert await redis.zrange(keys.event_waitlist(event.event_id), 0, -1) == [by_position[n] for n in range(1, 151)]
    again = await asyncio.gather(*(services.events.sign_up(m.member_id, event.number) for m in members))
    assert all(place.already for place in again)
    assert (await services.events.counts(event.event_id)).to_dict()["confirmed"] == 50
    assert await redis.zcard(keys.event_waitlist(event.event_id)) == 150


async def test_cancellations_promote_the_waitlist_in_order_and_each_promoted_member_is_told_once(mall, redis):
    wired, services, sender, till = mall
    event = await services.events.publish(definition(services.clock, capacity=3))
    members = await bulk_members(wired, services, 8)
    for member in members:                               # one after the other: arrival order is the list's
        await services.events.sign_up(member.member_id, event.number)
    promoted = [(await services.events.cancel(m.member_id, event.number)).promoted for m in members[:3]]
    assert promoted == [m.member_id for m in members[3:6]]
    waiting = await services.events.cancel(members[7].member_id, event.number)
    assert (waiting.was, waiting.promoted) == ("waitlisted", None)
    for _ in range(3):
        await services.events.send_due()               # tells a promotion again: the same notice, not a second
        await sender.drain()
    for member in members[3:6]:
        assert await delivered(wired, member.openid) == ["活动开始提醒"]
    assert [await delivered(wired, m.openid) for m in members[:3] + members[6:]] == [[]] * 5
    assert (await services.events.counts(event.event_id)).to_dict() | {"feedback": None} == {
        "confirmed": 3, "waitlist": 1, "checked_in": 0, "feedback": None}


async def test_reminders_go_24_hours_and_2_hours_before_once_each_however_often_the_job_runs(mall, clock):
    wired, services, sender, till = mall
    event = await services.events.publish(definition(clock, capacity=2, starts_in_hours=30))
    members = await bulk_members(wired, services, 3)
    for member in members:
        await services.events.sign_up(member.member_id, event.number)
    await services.events.send_due()
    await sender.drain()
    assert [await delivered(wired, m.openid) for m in members] == [[]] * 3     # 30 hours ahead: none due
    await advance(clock, wired.sandbox, 7 * 3600)                               # 23 hours ahead
    for _ in range(3):
        await services.events.send_due()
    await sender.drain()
    await advance(clock, wired.sandbox, 21.5 * 3600)                            # 1.5 hours ahead
    for _ in range(2):
        await services.events.send_due()
        await sender.drain()
    for member in members[:2]:
        assert await delivered(wired, member.openid) == ["活动开始提醒", "活动开始提醒"]
    assert await delivered(wired, members[2].openid) == []                      # on the waitlist: no reminder
    deliveries = await services.pushes.deliveries(members[0].member_id)
    assert {d.topic for d in deliveries if d.status == "sent"} == {
        f"event:{event.event_id}:reminder-24h", f"event:{event.event_id}:reminder-2h"}


async def test_the_scheduler_job_is_the_same_reminders(mall, clock):
    wired, services, sender, till = mall
    from bot.scheduler.process import runner_for
    event = await services.events.publish(definition(clock, capacity=5, starts_in_hours=20))
    [member] = await bulk_members(wired, services, 1)
    await services.events.sign_up(member.member_id, event.number)
    runner = runner_for(services, timedelta(seconds=30))
    first = await runner.run_day("event-reminders", clock.now().date())
    assert first.status == "done" and "1 planned" in first.summary
    assert "1 planned" in await runner.run_again("event-reminders")
    await sender.drain()
    assert await delivered(wired, member.openid) == ["活动开始提醒"]


async def test_higher_tiers_sign_up_first_in_their_priority_window(mall, clock):
    wired, services, sender, till = mall
    diamond, platinum, member = [await wired.join(name) for name in ("钻石会员", "白金会员", "普卡会员")]
    assert (await till.purchase({"openid": diamond}, "200000.00")).status == 200
    assert (await till.purchase({"openid": platinum}, "100000.00")).status == 200
    event = await services.events.publish(definition(
        clock, starts_in_hours=96, priority_tiers_hours={"diamond": 48, "platinum": 24}))
    assert "报名成功" in await wired.say(diamond, f"报名 {event.number}")
    assert "开放您的报名" in await wired.say(platinum, f"报名 {event.number}")
    await advance(clock, wired.sandbox, 24 * 3600)
    assert "报名成功" in await wired.say(platinum, f"报名 {event.number}")
    assert "开放您的报名" in await wired.say(member, f"报名 {event.number}")
    await advance(clock, wired.sandbox, 24 * 3600)
    assert "报名成功" in await wired.say(member, f"报名 {event.number}")


async def test_a_community_event_is_for_its_members_and_its_invitations_reach_only_them(mall, clock):
    wired, services, sender, till = mall
    await services.communities.create("wine", "品酒会", "")
    inside, outside = await wired.join("会员甲"), await wired.join("会员乙")
    await wired.say(inside, "加入 品酒会")
    event = await services.events.publish(definition(clock, community_id="wine", capacity=20))
    assert "仅限社群成员" in await wired.say(outside, f"报名 {event.number}")
    await caught_up(services)
    answer = await till.admin.post(f"/api/v1/admin/events/{event.event_id}/invitations", {})
    assert (answer.status, answer.json["submitted"], answer.json["campaign_id"]) == (200, 1, "event-tasting")
    await sender.drain()
    [invitation] = await delivered(wired, inside)
    assert "诚邀您参加「春季品酒会」" in invitation and "三楼中庭" in invitation and "还剩 20 个名额" in invitation
    assert f"报名 {event.number}" in invitation
    assert await delivered(wired, outside) == []
    again = await till.admin.post(f"/api/v1/admin/events/{event.event_id}/invitations", {})
    assert (again.status, again.json["campaign_id"], again.json["campaign"]["status"]) == (200, "event-tasting", "sent")
    await sender.drain()
    assert len(await delivered(wired, inside)) == 1                    # invited once, however often staff invite
    results = await till.admin.get(answer.json["results"])                  # measured like every campaign
    [arm] = [arm for arm in results.json["arms"] if arm["arm"] == "invitation"]
    assert (arm["members"], arm["delivered"]) == (1, 1)
    assert "报名成功" in await wired.say(inside, f"报名 {event.number}")


async def test_the_invitations_of_an_event_with_a_minimum_tier_go_to_that_tier_and_above(mall, clock):
    wired, services, sender, till = mall
    member, gold, platinum = [await wired.join(name) for name in ("普卡会员", "金卡会员", "白金会员")]
    assert (await till.purchase({"openid": gold}, "50000.00")).status == 200
    assert (await till.purchase({"openid": platinum}, "100000.00")).status == 200
    await caught_up(services)
    event = await services.events.publish(definition(clock, min_tier="gold"))
    too_wide = await till.admin.post(f"/api/v1/admin/events/{event.event_id}/invitations",
                                     {"segment": {"tiers": ["member"]}})
    assert (too_wide.status, too_wide.error) == (422, "invalid_request")
    answer = await till.admin.post(f"/api/v1/admin/events/{event.event_id}/invitations", {})
    assert (answer.status, answer.json["submitted"]) == (200, 2)
    await sender.drain()
    assert ["诚邀您参加「春季品酒会」" in text for text in await delivered(wired, gold)][-1:] == [True]
    assert ["诚邀您参加「春季品酒会」" in text for text in await delivered(wired, platinum)][-1:] == [True]
    assert not any("诚邀" in text for text in await delivered(wired, member))
    narrower = await till.admin.post(f"/api/v1/admin/events/{event.event_id}/invitations",
                                     {"segment": {"tiers": ["platinum", "member"]}})
    assert narrower.status == 200 and narrower.json["campaign_id"].startswith("event-tasting-")
    assert narrower.json["submitted"] == 1                             # a second wave, to platinum only


async def test_members_sign_up_list_and_cancel_in_chat(mall, clock):
    wired, services, sender, till = mall
    first = await services.events.publish(definition(clock, "salon", capacity=1, title="艺术沙龙"))
    await services.events.publish(definition(clock, "launch", title="新品发布会", starts_in_hours=100))
    early, late = await wired.join("早到"), await wired.join("晚到")
    listing = await wired.say(early, "活动")
    assert f"{first.number}. 艺术沙龙" in listing and "剩余 1 个名额" in listing
    signed_up = await wired.say(early, f"报名 {first.number}")
    assert "报名成功" in signed_up and "温馨提示：请着正装，可携一位家属" in signed_up
    assert "候补第 1 位" in await wired.say(late, f"报名 {first.number}")
    assert "已满，可报名候补" in await wired.say(late, "活动")
    assert "候补第 1 位" in await wired.say(late, "我的活动")
    assert "已取消「艺术沙龙」的报名" in await wired.say(early, f"取消报名 {first.number}")
    assert "已报名" in await wired.say(late, "我的活动")
    assert "您没有报名这个活动" in await wired.say(early, f"取消报名 {first.number}")
    assert "没有找到这个活动" in await wired.say(early, "报名 99")


async def test_check_in_by_member_code_grants_the_activity_points_once_and_feedback_is_averaged(mall, clock):
    wired, services, sender, till = mall
    event = await services.events.publish(definition(clock, starts_in_hours=3))
    came, also, absent = [await wired.join(name) for name in ("来了", "也来了", "没来")]
    for openid in (came, also, absent):
        await wired.say(openid, f"报名 {event.number}")
    await advance(clock, wired.sandbox, 3 * 3600)
    for openid in (came, also):
        member_id = await services.members.member_id_for_openid(openid)
        code = (await services.member_codes.issue(member_id)).code
        for _ in range(2):
            answer = await till.admin.post(f"/api/v1/admin/events/{event.event_id}/check-ins", {"member_code": code})
            assert answer.status == 200 and answer.json["member_id"] == member_id
        assert (await services.points.summary(member_id, clock.now())).balance == services.program.events.checkin_points
    await advance(clock, wired.sandbox, 2 * 3600)                      # the event is over
    await services.events.send_due()
    await sender.drain()
    assert "请回复 1-5" in (await delivered(wired, came))[-1]
    assert "目前没有需要您打分的" in await wired.say(absent, "5")
    assert "打出 5 分并留下建议" in await wired.say(came, "5 很棒，下次还来")
    assert "目前没有需要您打分的" in await wired.say(came, "2")        # answered already: the first answer stands
    assert "打出 4 分" in await wired.say(also, "评分 4")
    answer = await till.admin.get(f"/api/v1/admin/events/{event.event_id}")
    assert answer.json == {"confirmed": 3, "waitlist": 0, "checked_in": 2, "feedback": {"count": 2, "average": 4.5}}


async def test_publishing_again_is_the_same_event_and_another_definition_is_refused(mall, clock):
    wired, services, sender, till = mall
    body = definition(clock)
    first = await till.admin.post("/api/v1/admin/events", body)
    again = await till.admin.post("/api/v1/admin/events", body)
    other = await till.admin.post("/api/v1/admin/events", body | {"capacity": 10})
    assert first.status == 201 and again.json == first.json and first.json["event"]["number"] == 1
    assert (other.status, other.error) == (409, "event_conflict")
    unknown_community = await till.admin.post("/api/v1/admin/events", definition(clock, "x", community_id="nope"))
    assert (unknown_community.status, unknown_community.error) == (404, "unknown_community")
    with pytest.raises(errors.InvalidRequest):
        await services.events.publish(definition(clock, "late", starts_in_hours=-1))
    assert (await till.admin.get("/api/v1/admin/events/nope")).status == 404
    assert datetime.fromisoformat(first.json["event"]["starts_at"]) == \
        datetime.fromisoformat(body["starts_at"]).astimezone(MALL_TZ)
    assert first.json["event"]["starts_at"].endswith("+08:00")


async def test_invitations_wait_out_the_quiet_hours_like_every_campaign(mall, clock):
    wired, services, sender, till = mall
    guests = [await wired.join(name) for name in ("夜里甲", "夜里乙")]
    await caught_up(services)
    event = await services.events.publish(definition(clock))
    night = datetime.combine(clock.now().astimezone(MALL_TZ).date(), datetime.min.time(), MALL_TZ) + \
        timedelta(hours=23)
    await advance(clock, wired.sandbox, (night - clock.now()).total_seconds())
    answer = await till.admin.post(f"/api/v1/admin/events/{event.event_id}/invitations", {})
    assert (answer.json["submitted"], answer.json["campaign"]["deferred"], answer.json["campaign"]["sent"]) == (2, 2, 0)
    await sender.drain()
    assert [await delivered(wired, openid) for openid in guests] == [[], []]
