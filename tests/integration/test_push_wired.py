"""The push side with the bot and the sandbox wired together, as in production: callbacks open the windows,
the sender sends, the platform's quotas apply (and never refuse us), the inbox follows a member's message,
mass batches are reconciled with the platform's job reports, and operators read the delivery log."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from bot.api.auth import sign
from bot.app_keys import SERVICES
from bot.handlers import build_router
from bot.replies import Text
from bot.router import Router
from loyalty_core import keys
from loyalty_core.push import hours
from loyalty_core.push.model import Content, Push
from tests.fixtures_bot import ADMIN_SECRET, POS_SECRET
from tests.fixtures_push import advance, align_clock
from tests.pushes import POINTS_NOTICE, text_push

SPRING = {"msgtype": "text", "text": {"content": "春季会员日：全场积分双倍"}}


@pytest.fixture
async def wired(start_wired, clock):
    async def start(**options):
        wired = await start_wired(**options)
        await wired.sandbox.move_to_morning()      # marketing is not quiet-hours bound whenever the suite runs
        await align_clock(clock, wired.sandbox)
        return wired
    return start


async def member_of(wired, openid: str) -> str:
    return await wired.bot.app[SERVICES].members.member_id_for_openid(openid)


async def custom_calls(wired) -> Counter:
    return Counter(c["errcode"] for c in await wired.wechat.calls("message/custom/send"))


async def test_the_platform_never_refuses_a_window_when_the_planner_has_the_facts(wired, make_sender, clock):
    wired = await wired()
    services = wired.bot.app[SERVICES]
    writer, tapper, follower = [await wired.join(name) for name in ("写字的", "点菜单的", "刚关注的")]
    await wired.say(writer, "积分")                    # 5 messages in 48 hours
    await wired.tap(tapper, "MY_POINTS")               # 3 in a minute, replacing the follow's
    pushes = {openid: [text_push(await member_of(wired, openid), clock.now(), topic=f"notice:{n}",
                                 text=f"{openid}:{n}", template=POINTS_NOTICE) for n in range(7)]
              for openid in (writer, tapper, follower)}
    for planned in pushes.values():
        for push in planned:
            await services.pushes.plan(push)
    sender = await make_sender(wired.sandbox)
    await sender.drain()
    assert await custom_calls(wired) == {0: 11}
    by_member = Counter((e["openid"], e["channel"]) for e in await wired.wechat.all_messages()
                        if e["channel"] != "passive")
    assert by_member == {(writer, "custom"): 5, (writer, "template"): 2, (tapper, "custom"): 3,
                         (tapper, "template"): 4, (follower, "custom"): 3, (follower, "template"): 4}
    await advance(clock, wired.sandbox, 61)            # the one-minute windows close on both sides
    for openid in (tapper, writer):
        await services.pushes.plan(text_push(await member_of(wired, openid), clock.now(), topic="notice:late",
                                             template=POINTS_NOTICE))
    await sender.drain()
    assert await custom_calls(wired) == {0: 11}          # closed for one, used up for the other: templates
    assert Counter(e["channel"] for e in await wired.wechat.all_messages())["template"] == 12


async def test_pending_pushes_follow_the_members_next_message(wired, make_sender, clock):
    wired = await wired()
    services = wired.bot.app[SERVICES]
    openid = await wired.join("等消息的")
    member_id = await member_of(wired, openid)
    await advance(clock, wired.sandbox, 61)            # the follow's window has closed
    for n, urgency in enumerate(("any", "now")):
        record = await services.pushes.plan(text_push(member_id, clock.now(), topic=f"notice:{n}",
                                                      text=f"待送达 {urgency}", urgency=urgency))
        assert record.status == "pending_inbox"
    reply = await wired.say(openid, "积分")
    await wired.drain()
    await (await make_sender(wired.sandbox)).drain()
    after = [e for e in await wired.wechat.delivered(openid) if e["at"] >= 0][-3:]
    assert [e["channel"] for e in after] == ["passive", "custom", "custom"]
    assert "积分" in reply and [e["message"]["text"]["content"] for e in after[1:]] == ["待送达 now", "待送达 any"]
    assert await custom_calls(wired) == {0: 2}


def chatty_router() -> Router:
    chatty = Router("chatty")

    @chatty.menu("FIVE_TIPS")
    async def five_tips(ctx):
        return [Text(f"小贴士 {n}") for n in range(1, 6)]

    return build_router().include(chatty)


async def test_follow_ups_beyond_the_window_wait_in_the_inbox(wired, make_sender, clock):
    wired = await wired(router=chatty_router())
    openid = await wired.join()
    await wired.tap(openid, "FIVE_TIPS")               # a passive reply and 4 follow-ups; the tap allows 3
    await wired.drain()
    shown = [e["message"]["text"]["content"] for e in await wired.wechat.delivered(openid) if "小贴士" in str(e)]
    assert shown == ["小贴士 1", "小贴士 2", "小贴士 3", "小贴士 4"]
    await wired.say(openid, "帮助")
    await wired.drain()
    await (await make_sender(wired.sandbox)).drain()
    shown = [e["message"]["text"]["content"] for e in await wired.wechat.delivered(openid) if "小贴士" in str(e)]
    assert shown[-1] == "小贴士 5" and len(shown) == 5
    assert await custom_calls(wired) == {0: 4}


async def mass_push(wired, openid: str, clock) -> Push:
    return Push("", await member_of(wired, openid), "marketing", "campaign:spring", clock.now() + hours_(72),
                Content.text("春季会员日来了", mass=SPRING))


def hours_(n: int):
    from datetime import timedelta
    return timedelta(hours=n)


async def test_a_mass_batch_counts_each_member_and_is_reconciled_with_the_job_report(wired, make_sender, clock,
                                                                                      redis):
    wired = await wired()
    services = wired.bot.app[SERVICES]
    openids = [await wired.join() for _ in range(5)]
    await advance(clock, wired.sandbox, 61)
    full = await member_of(wired, openids[0])           # already had 4 mass messages this month
    await redis.hset(keys.member_push_facts(full), mapping={"mass_month": hours.month_key(clock.now()),
                                                            "mass_count": 4})
    records = [await services.pushes.plan(await mass_push(wired, openid, clock)) for openid in openids]
    assert [r.status for r in records] == ["pending_inbox"] + ["queued"] * 4
    await (await make_sender(wired.sandbox)).drain()
    [call] = await wired.wechat.calls("message/mass/send")
    assert call["detail"]["to"] == "4 openids" and call["errcode"] == 0
    assert Counter(e["openid"] for e in await wired.wechat.all_messages(channel="mass")) == {o: 1 for o in openids[1:]}
    for openid in openids[1:]:
        assert await redis.hget(keys.member_push_facts(await member_of(wired, openid)), "mass_count") == "1"
    await wired.wechat.settle()                          # the platform's MASSSENDJOBFINISH reaches the bot
    batch = await redis.hgetall(keys.push_mass_batch("1"))
    assert (batch["report_total"], batch["report_prepared"], batch["filtered_out"]) == ("4", "4", "0")
    assert batch["msg_id"] == str(call["detail"]["msg_id"])


async def test_the_job_report_shows_mass_messages_our_counts_missed(wired, make_sender, clock, redis):
    wired = await wired()
    services = wired.bot.app[SERVICES]
    openids = [await wired.join() for _ in range(3)]
    await advance(clock, wired.sandbox, 61)
    platform_member = wired.sandbox.state.account.members[openids[0]]     # 4 sent from the WeChat admin page
    platform_member.mass_month, platform_member.mass_count = wired.sandbox.state.clock.month(), 4
    for openid in openids:
        await services.pushes.plan(await mass_push(wired, openid, clock))
    await (await make_sender(wired.sandbox)).drain()
    await wired.wechat.settle()
    batch = await redis.hgetall(keys.push_mass_batch("1"))
    assert (batch["report_total"], batch["report_prepared"], batch["filtered_out"]) == ("3", "2", "1")


async def test_a_mass_batch_of_one_waits_in_the_inbox_instead(wired, make_sender, clock):
    wired = await wired()
    services = wired.bot.app[SERVICES]
    openid = await wired.join()
    await advance(clock, wired.sandbox, 61)
    record = await services.pushes.plan(await mass_push(wired, openid, clock))
    assert record.channel == "mass"
    await (await make_sender(wired.sandbox)).drain()
    waiting = await services.pushes.record(record.member_id, record.push_id)
    assert (waiting.status, await wired.wechat.calls("message/mass/send")) == ("pending_inbox", [])


async def admin_get(wired, path: str):
    ts = str(int(time.time()))
    response = await wired.bot.get(path, headers={"X-Timestamp": ts, "X-Signature": sign(ADMIN_SECRET, ts, b"")})
    return response.status, await response.json(content_type=None)


async def test_operators_read_a_members_delivery_log_newest_first(wired, make_sender, clock):
    wired = await wired()
    services = wired.bot.app[SERVICES]
    openid = await wired.join()
    member_id = await member_of(wired, openid)
    record = await services.pushes.plan(text_push(member_id, clock.now(), template=POINTS_NOTICE))
    await (await make_sender(wired.sandbox)).drain()
    status, answer = await admin_get(wired, f"/api/v1/admin/members/{member_id}/deliveries?limit=2")
    assert status == 200 and answer["member_id"] == member_id
    assert [(s["status"], s["channel"]) for s in answer["deliveries"]] == [("sent", "custom"), ("in_flight", "custom")]
    assert answer["deliveries"][0]["push_id"] == record.push_id and answer["deliveries"][0]["topic"] == "points_earned"
    assert (await admin_get(wired, "/api/v1/admin/members/999999/deliveries"))[1]["error"]["code"] == "unknown_member"
    ts = str(int(time.time()))
    by_a_till = await wired.bot.get(f"/api/v1/admin/members/{member_id}/deliveries",
                                    headers={"X-Timestamp": ts, "X-Signature": sign(POS_SECRET, ts, b"")})
    assert by_a_till.status == 403                                   # the log is the member service's, not a till's
    status, answer = await admin_get(wired, f"/api/v1/admin/members/{member_id}/deliveries?limit=0")
    assert (status, answer["error"]["code"]) == (422, "invalid_request")
    metrics = await (await wired.bot.get("/metrics")).text()
    assert 'push_steps_total{channel="custom",kind="service",outcome="sent",topic="points_earned"} 1.0' in metrics
    assert "push_in_doubt 0.0" in metrics
