"""Managers' broadcasts with the bot, the sandbox and a sender wired together: the preview's plan is what the
platform then reports, 确认 answers at once and the broadcast consumer sends it once (again after a consumer died
mid-way), 广播记录 shows how it went, only a community's managers broadcast to it, members outside it get
nothing, a manager's day has its limit, and a broadcast may carry a community-exclusive coupon."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import bot
from bot.app_keys import SERVICES
from bot.events import broadcast_consumer
from loyalty_core import keys
from loyalty_core.push import hours
from loyalty_core.redis_store.broadcasts import RedisBroadcastStore
from tests.fixtures_push import advance, align_clock
from tests.integration.till import Till

TEXT = "本周六早上8点中庭集合，一起做晨练"
NOTHING_TO_CONFIRM = (Path(bot.__file__).parent / "templates/errors/nothing_to_confirm.txt").read_text().strip()


@pytest.fixture
async def mall(start_wired, clock, make_sender, redis):
    wired = await start_wired()
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    services = wired.bot.app[SERVICES]
    await services.communities.create("yoga", "瑜伽社", "")
    return wired, services, await make_sender(wired.sandbox), Till(wired.bot, clock).admin


async def manager_of(wired, admin, community_id: str, nickname: str = "社群管理员") -> str:
    openid = await wired.join(nickname)
    assert (await admin.post(f"/api/v1/admin/communities/{community_id}/managers", {"openid": openid})).status == 200
    return openid


async def fanned_out(services) -> None:
    """The broadcast consumer of `serve` sends what was confirmed."""
    await broadcast_consumer(services, "t").drain()


async def confirmed(wired, services, manager: str) -> str:
    answer = await wired.say(manager, "确认")
    await fanned_out(services)
    return answer


async def member_id(wired, openid: str) -> str:
    return await wired.bot.app[SERVICES].members.member_id_for_openid(openid)


async def quiet_members(wired, services, count: int) -> list[str]:
    """Members who joined the community without writing (their follow's minute has passed by the broadcast)."""
    openids = [await wired.join(f"安静{n}") for n in range(count)]
    for openid in openids:
        await services.communities.join(await member_id(wired, openid), "瑜伽社")
    return openids


async def used_their_mass_messages(wired, redis, clock, openid: str) -> None:
    """Four mass messages this month already, as the platform and our counts both know."""
    await redis.hset(keys.member_push_facts(await member_id(wired, openid)),
                     mapping={"mass_month": hours.month_key(clock.now()), "mass_count": 4})
    member = wired.sandbox.state.account.members[openid]
    member.mass_month, member.mass_count = wired.sandbox.state.clock.month(), 4


async def broadcast_received(wired, openid: str) -> list[str]:
    return [entry["channel"] for entry in await wired.wechat.delivered(openid)
            if entry["channel"] in ("custom", "mass") and TEXT in str(entry["message"])]


async def test_the_previews_plan_is_what_the_platform_reports_and_confirming_again_sends_nothing_twice(
        mall, clock, redis):
    wired, services, sender, admin = mall
    quiet = await quiet_members(wired, services, 4)
    await used_their_mass_messages(wired, redis, clock, quiet[3])
    outsider = await wired.join("局外人")
    await advance(clock, wired.sandbox, 61)
    writers = [await wired.join(f"活跃{n}") for n in range(2)]
    for openid in writers:
        await wired.say(openid, "加入 瑜伽社")                 # a message: their window is open for 48 hours
    manager = await manager_of(wired, admin, "yoga")
    assert "我管理的社群：\n· 瑜伽社（6 位成员）" in await wired.say(manager, "我的社群")
    preview = await wired.say(manager, f"广播 瑜伽社 {TEXT}")
    assert "6 位成员中，2 位现在可通过客服消息收到；3 位只能通过群发收到（占用其本月 4 次群发中的 1 次）；" \
           "1 位本月群发次数已用完" in preview
    broadcast_id = (await services.pending.current(await member_id(wired, manager))).payload["broadcast_id"]
    assert "正在向「瑜伽社」的 6 位成员发送广播" in await wired.say(manager, "确认")
    assert await wired.wechat.calls("message/custom/send") == []             # nothing sent inside the reply
    assert "发送中：6 位成员" in await wired.say(manager, "广播记录")
    await fanned_out(services)
    await sender.drain()
    await wired.wechat.settle()                               # the platform's MASSSENDJOBFINISH reaches the bot
    custom = [call for call in await wired.wechat.calls("message/custom/send") if call["errcode"] == 0]
    [mass] = await wired.wechat.calls("message/mass/send")
    assert len(custom) == 2 and mass["detail"]["to"] == "3 openids"
    [report] = await RedisBroadcastStore(redis, services.scripts).reports(broadcast_id)
    assert (report["total"], report["filtered"], report["status"]) == (3, 3, "send success")
    assert {openid: await broadcast_received(wired, openid) for openid in writers + quiet + [outsider]} == \
        {writers[0]: ["custom"], writers[1]: ["custom"], quiet[0]: ["mass"], quiet[1]: ["mass"], quiet[2]: ["mass"],
         quiet[3]: [], outsider: []}
    history = await wired.say(manager, "广播记录")
    assert "已安排：6 位成员（2 位客服消息，3 位群发，1 位待其下次发消息）；已送达 5 位" in history
    assert "平台群发报告：3 位中 3 位可收，成功 3 位" in history
    staff_view = (await admin.get(f"/api/v1/admin/broadcasts/{broadcast_id}")).json["broadcast"]
    assert (staff_view["status"], staff_view["members"], staff_view["planned"]["mass"]) == ("sent", 6, 3)
    assert (staff_view["mass_reports"]["total"], staff_view["mass_reports"]["filtered"]) == (3, 3)
    assert (await admin.get("/api/v1/admin/broadcasts/bnope")).status == 404
    assert "正在向「瑜伽社」的 6 位成员发送广播" in await confirmed(wired, services, manager)   # the same one again
    await sender.drain()
    assert len(await wired.wechat.calls("message/mass/send")) == 1
    assert len([c for c in await wired.wechat.calls("message/custom/send") if c["errcode"] == 0]) == 2
    info = await RedisBroadcastStore(redis, services.scripts).get(broadcast_id)
    assert (info["status"], info["planned_custom"], info["planned_mass"], info["planned_none_left"]) == \
        ("sent", "2", "3", "1")
    actions = [entry["action"] for entry in await RedisBroadcastStore(redis, services.scripts).audit_log()]
    assert actions == ["confirmed_again", "sent", "confirmed", "previewed"]


async def test_a_broadcast_a_dead_consumer_left_is_sent_by_the_next_once(mall, clock, redis):
    wired, services, sender, admin = mall
    quiet = await quiet_members(wired, services, 3)
    manager = await manager_of(wired, admin, "yoga")
    await wired.say(manager, f"广播 瑜伽社 {TEXT}")
    await wired.say(manager, "确认")
    dead = broadcast_consumer(services, "dead")
    await dead.ensure_group()                                   # it took the event and died before sending
    assert await redis.xreadgroup(dead.group, "dead", {dead.stream: ">"}) != []
    await fanned_out(services)                                  # another consumer leaves the dead one's entry …
    assert await services.pushes.deliveries(await member_id(wired, quiet[0])) == []
    await broadcast_consumer(services, "next", claim_idle_ms=0).drain()     # … until it is taken over
    store = RedisBroadcastStore(redis, services.scripts)
    [broadcast_id] = await store.latest(await member_id(wired, manager), 5)
    assert await services.broadcasts.deliver(await store.get(broadcast_id)) is None   # delivered: nothing again
    await sender.drain()
    assert [len(await broadcast_received(wired, openid)) for openid in quiet] == [1, 1, 1]


async def test_the_member_whose_mass_messages_are_used_up_gets_it_with_their_next_message(mall, clock, redis):
    wired, services, sender, admin = mall
    [full, other] = await quiet_members(wired, services, 2)
    await used_their_mass_messages(wired, redis, clock, full)
    await advance(clock, wired.sandbox, 61)
    manager = await manager_of(wired, admin, "yoga")
    await wired.say(manager, f"广播 瑜伽社 {TEXT}")
    await confirmed(wired, services, manager)
    await sender.drain()
    assert await broadcast_received(wired, full) == []
    await wired.say(full, "积分")                              # a message of theirs opens a window
    await wired.drain()
    await sender.drain()
    assert await broadcast_received(wired, full) == ["custom"]


async def test_only_a_communitys_managers_broadcast_to_it(mall, clock):
    wired, services, sender, admin = mall
    await services.communities.create("wine", "品酒会", "")
    [member] = await quiet_members(wired, services, 1)
    wine_manager = await manager_of(wired, admin, "wine", "品酒会管理员")
    stranger = await wired.join("路人")
    assert "只有「瑜伽社」的管理员可以向它广播" in await wired.say(wine_manager, f"广播 瑜伽社 {TEXT}")
    assert "只有「瑜伽社」的管理员可以向它广播" in await wired.say(stranger, f"广播 瑜伽社 {TEXT}")
    assert await wired.say(stranger, "确认") == NOTHING_TO_CONFIRM           # nothing was offered to confirm
    await sender.drain()
    assert await broadcast_received(wired, member) == []
    assert await wired.wechat.calls("message/mass/send") == []


async def test_a_manager_broadcasts_at_most_the_days_allowance(mall, clock):
    wired, services, sender, admin = mall
    manager = await manager_of(wired, admin, "yoga")
    limit = services.program.broadcasts.per_manager_per_day
    for n in range(limit):
        assert "社群还没有成员" in await wired.say(manager, f"广播 瑜伽社 第{n}条")
        assert "还没有成员，广播不会发给任何人" in await confirmed(wired, services, manager)
    assert f"今天的广播次数（{limit} 次）已用完" in await wired.say(manager, f"广播 瑜伽社 {TEXT}")


async def test_a_broadcast_with_a_community_coupon_gives_each_member_one(mall, clock):
    wired, services, sender, admin = mall
    members = await quiet_members(wired, services, 2)
    manager = await manager_of(wired, admin, "yoga")
    preview = await wired.say(manager, f"广播 瑜伽社 券 dining-200-30 {TEXT}")
    assert "附社群专享券「满200减30 餐饮券」" in preview
    for _ in range(2):
        await confirmed(wired, services, manager)
    await sender.drain()
    for openid in members:
        wallet = await services.coupons.wallet(await member_id(wired, openid))
        assert Counter(coupon.template.id for coupon in wallet)["dining-200-30"] == 1
        [channel] = await broadcast_received(wired, openid)
        [entry] = [e for e in await wired.wechat.delivered(openid) if e["channel"] == channel]
        assert "社群专享券「满200减30 餐饮券」已放入您的券包" in str(entry["message"])
