"""积分 / 明细 / 等级 / 排行 / 会员码 in chat, through /wechat; 会员码 with the WeChat sandbox for the QR image."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.app_keys import DISPATCHER
from bot.images import qr_png
from loyalty_core import keys
from loyalty_core.points import add_months
from tests.fixtures_sandbox import SANDBOX_APPID, SANDBOX_SECRET, SANDBOX_TOKEN
from tests.integration.till import Till
from tests.wechat_peer import WeChatPeer, event_xml


@pytest.fixture
async def bot(start_bot, clock):
    client = await start_bot()
    return WeChatPeer(client), Till(client, clock)


async def test_points_show_the_balance_what_expires_soon_and_debt(bot, clock):
    peer, till = bot
    await peer.follow("o_pat")
    await till.purchase({"openid": "o_pat"}, "1234.50")
    await till.purchase({"openid": "o_pat"}, "300.00", txn_id="T-pat-2")
    assert "可用积分：1534 分" in await peer.say("o_pat", "积分")
    clock.set(add_months(clock.now(), 12) - timedelta(days=10))
    reply = await peer.say("o_pat", "points")
    assert "1534 分将在 30 天内过期" in reply and "2027年1月15日" in reply
    member_id = await till.services.members.member_id_for_openid("o_pat")
    await till.services.points.spend(member_id, 1500, "redeem-1")
    await till.refund("T-pat-2", "300.00")                     # 266 of its 300 points were spent
    assert "待抵扣积分：266 分" in await peer.say("o_pat", "积分")


async def test_history_pages_ten_entries_at_a_time(bot):
    peer, till = bot
    await peer.follow("o_quinn")
    for i in range(12):
        await till.purchase({"openid": "o_quinn"}, f"{i + 1}.00")
    first = await peer.say("o_quinn", "明细")
    assert first.count("消费积分") == 10 and "+12，余额 78" in first and "发送「明细 2」" in first
    second = await peer.say("o_quinn", "明细2")
    assert second.count("消费积分") == 2 and "+1，余额 1" in second and "明细 3" not in second
    assert "没有更早的记录" in await peer.say("o_quinn", "history 3")


async def test_tier_shows_the_progress_to_the_next_tier(bot):
    peer, till = bot
    await peer.follow("o_rae")
    await till.purchase({"openid": "o_rae"}, "87700.00")
    reply = await peer.say("o_rae", "等级")
    assert "金卡（积分 2 倍）" in reply and "还差 12,300 元升级白金卡" in reply and "★ 积分加倍" in reply
    assert "升级后新增：2.5 倍积分、免费停车、生日礼品、VIP 通道、会员日专享" in reply


async def test_a_diamond_member_sees_every_benefit_of_the_tiers_below_and_each_points_rate_once(bot):
    peer, till = bot
    await peer.follow("o_dia")
    await till.purchase({"openid": "o_dia"}, "200000.00")
    reply = await peer.say("o_dia", "等级")
    benefits = reply[reply.index("钻石卡权益"):].splitlines()
    assert benefits == ["钻石卡权益（★ 为钻石卡新增）：", "★ 3 倍积分", "★ 私人导购", "★ 年度体检", "★ 品牌大使服务",
                        "· 入会礼券", "· 专属折扣", "· 免费停车", "· 生日礼品", "· VIP 通道", "· 会员日专享"]
    assert "积分加倍" not in reply and "2.5 倍积分" not in reply and "您已是最高等级" in reply


async def test_the_leaderboard_masks_other_members_and_shows_my_rank(bot, redis):
    peer, till = bot
    for openid, amount in (("o_sam", "500.00"), ("o_tia", "900.00"), ("o_uma", "100.00")):
        await peer.follow(openid)
        await till.purchase({"openid": openid}, amount)
    tia = await till.services.members.member_id_for_openid("o_tia")
    await redis.hset(keys.member_profile(tia), "nickname", "田甜甜")
    reply = await peer.say("o_uma", "排行榜")
    assert reply.index("1. 田** 900 分") < reply.index("会员 ") and "（我） 100 分" in reply
    assert "您排在第 3 名" in reply and "o_tia" not in reply


async def test_menu_clicks_reach_the_same_answers(bot):
    peer, till = bot
    await peer.follow("o_vic")
    await till.purchase({"openid": "o_vic"}, "10.00")
    now = int(time.time())
    answer = await peer.post(event_xml("o_vic", "CLICK", "MY_POINTS", create_time=now))
    assert "可用积分：10 分" in answer.content
    answer = await peer.post(event_xml("o_vic", "CLICK", "MY_TIER", create_time=now))
    assert "普卡" in answer.content and "还差 49,990 元升级金卡" in answer.content


async def test_help_lists_the_points_keywords(bot):
    peer, _ = bot
    reply = await peer.say("o_wes", "帮助")
    assert all(word in reply for word in ("积分", "明细", "等级", "排行", "会员码"))


async def test_member_code_comes_as_text_and_a_qr_image_that_a_till_can_use(start_bot, start_sandbox, clock):
    sandbox = await start_sandbox(callback_timeout=3.0)
    client = await start_bot(wechat_api_base=sandbox.url, wechat_token=SANDBOX_TOKEN, wechat_appid=SANDBOX_APPID,
                             wechat_appsecret=SANDBOX_SECRET)
    await sandbox.client.settings(bot_callback_url=str(client.make_url("/wechat")))
    member = await sandbox.client.add_member(nickname="Xia", follow=True)
    result = await sandbox.client.text(member["openid"], "会员码")
    text = result["reply"]["text"]["content"]
    code = "".join(text.split("：")[1].split("\n")[0].split())
    assert len(code) == 18 and "5 分钟内有效" in text
    await client.server.app[DISPATCHER].drain()
    [image] = [m["message"] for m in await sandbox.client.delivered(member["openid"], channel="custom")]
    assert image["msgtype"] == "image"
    png = await sandbox.client.session.get(f"{sandbox.url}/sandbox/media/{image['image']['media_id']}")
    assert await png.read() == qr_png(code)

    till = Till(client, clock)
    assert (await till.purchase({"member_code": code}, "66.00")).json["points_earned"] == 66
    assert (await till.purchase({"member_code": code}, "66.00")).status == 404     # used once
