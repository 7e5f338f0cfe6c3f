"""兑换 / 确认 / 取消 / 我的券 / 券 in chat, through /wechat: browse, pick, confirm within two minutes,
the wallet, one coupon with its QR image (with the WeChat sandbox)."""
from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

import loyalty_core
from bot.app_keys import DISPATCHER
from bot.images import qr_png
from loyalty_core import keys
from loyalty_core.program import parse_catalogue_item
from tests.fixtures_sandbox import SANDBOX_APPID, SANDBOX_SECRET, SANDBOX_TOKEN
from tests.integration.rewards import Chat, ledger_totals
from tests.integration.till import Till, snapshot
from tests.wechat_peer import WeChatPeer, event_xml

CODE = re.compile(r"券码：?\s*([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z])")


@pytest.fixture
async def chat(start_bot, redis) -> Chat:
    client = await start_bot()
    return Chat(WeChatPeer(client), client)


async def test_browse_pick_confirm_and_find_the_coupon_in_the_wallet(chat, redis):
    member_id = await chat.member("o_amy", points=1200)
    listing = await chat.say("o_amy", "兑换")
    assert "可用积分 1200 分" in listing
    lines = [line for line in listing.splitlines() if re.match(r"\d+\. ", line)]
    assert lines[0].startswith("1. 幸运抽奖 — 100 积分") and "2. 满200减30 餐饮券 — 500 积分" in lines[1]
    assert "品牌帆布袋（服务台领取） — 1500 积分（还差 300 分）" in listing        # unaffordable after affordable
    assert "金卡专享" not in listing                                              # a tier the member lacks

    offer = await chat.say("o_amy", "兑换 2")
    assert "满200减30 餐饮券" in offer and "兑换后剩余 700 分" in offer and "回复「确认」" in offer
    done = await chat.say("o_amy", "确认")
    assert "兑换成功" in done and "剩余积分：700 分" in done
    code = CODE.search(done).group(1)
    assert await chat.balance(member_id) == 700

    wallet = await chat.say("o_amy", "我的券")
    assert code in wallet and "满200减30，餐饮可用，至2月14日" in wallet
    shown = await chat.say("o_amy", f"券 {code.lower().replace('-', ' ')}")
    assert f"券码：{code}" in shown and "每张券仅可使用一次" in shown
    assert "券码有误" in await chat.say("o_amy", f"券 {code[:-1]}{'2' if code[-1] != '2' else '3'}")
    events = [fields["type"] for _, fields in await redis.xrange(keys.OUTBOX_STREAM)]
    assert events.count("reward_redeemed") == 1 and events.count("coupon_issued") == 1


async def test_the_catalogue_pages_with_next_page(chat):
    for n in range(4):
        await chat.services.redemption.create_item(parse_catalogue_item(
            {"id": f"extra-{n}", "title": f"加购礼品{n}", "points": 300 + n, "kind": "voucher", "voucher": "小礼品"}))
    await chat.member("o_ben", points=5000)
    first = await chat.say("o_ben", "兑换")
    assert "第 1/2 页" in first and "兑换 下一页" in first and first.count(" 积分") == 5
    second = await chat.say("o_ben", "兑换 下一页")
    assert "第 2/2 页" in second and "6. " in second and "下一页" not in second
    assert "您选择了：" in await chat.say("o_ben", "兑换 6")


async def test_confirm_after_two_minutes_says_the_offer_lapsed(chat, clock):
    member_id = await chat.member("o_cat", points=900)
    await chat.say("o_cat", "兑换")
    assert "星巴克中杯兑换券" in await chat.say("o_cat", "兑换 3")
    clock.advance(minutes=2, seconds=1)
    assert "兑换「星巴克中杯兑换券」已超过确认时间" in await chat.say("o_cat", "确认")
    assert "没有需要确认的操作" in await chat.say("o_cat", "确认")
    assert await chat.balance(member_id) == 900
    await chat.say("o_cat", "兑换 3")
    clock.advance(minutes=1, seconds=59)
    assert "兑换成功" in await chat.say("o_cat", "确认")
    assert await chat.balance(member_id) == 100


async def test_cancel_forgets_the_offer(chat):
    member_id = await chat.member("o_dan", points=900)
    await chat.say("o_dan", "兑换 2")
    assert "已取消：兑换「满200减30 餐饮券」" in await chat.say("o_dan", "取消")
    assert "没有需要确认的操作" in await chat.say("o_dan", "确认")
    assert "没有需要确认的操作" in await chat.say("o_dan", "取消")
    assert await chat.balance(member_id) == 900


async def test_too_few_points_are_refused_at_the_offer(chat):
    await chat.member("o_eve", points=300)
    assert "积分不足，当前可用 300 分" in await chat.say("o_eve", "兑换 2")
    assert "没有这个编号（共 6 件礼品）" in await chat.say("o_eve", "兑换 9")


async def test_confirm_is_refused_when_the_price_changed_since_the_offer(chat, start_bot, redis, tmp_path):
    """Another process already runs a program file in which the item costs 900, not the 800 offered."""
    default = Path(loyalty_core.__file__).with_name("program_default.toml").read_text()
    repriced = tmp_path / "program.toml"
    repriced.write_text(default.replace('id = "sbux-tall"\ntitle = "星巴克中杯兑换券"\npoints = 800',
                                        'id = "sbux-tall"\ntitle = "星巴克中杯兑换券"\npoints = 900'))
    other = WeChatPeer(await start_bot(program_file=repriced))
    member_id = await chat.member("o_pia", points=1000)
    assert "所需积分：800 分" in await chat.say("o_pia", "兑换 3")
    before = await snapshot(redis)
    refused = await other.say("o_pia", "确认")
    assert "「星巴克中杯兑换券」兑换所需积分已调整为 900 分，请重新发送「兑换」查看" in refused
    assert without_replies(await snapshot(redis)) == without_replies(before, keys.member_pending_choice(member_id))
    assert "没有需要确认的操作" in await other.say("o_pia", "确认")
    assert "所需积分：900 分" in await other.say("o_pia", "兑换 3")
    assert "兑换成功，已使用 900 积分" in await other.say("o_pia", "确认")
    assert await chat.balance(member_id) == 100 and await ledger_totals(redis, [member_id]) == (100, 900)

    early = await chat.member("o_rex", points=1000)                    # redeemed at 800 before the change
    await chat.say("o_rex", "兑换 3")
    done = await chat.say("o_rex", "确认")
    assert "兑换成功，已使用 800 积分" in done
    assert await other.say("o_rex", "确认") == done                   # a late repeat: the same redemption
    assert await ledger_totals(redis, [early]) == (200, 800)


def without_replies(state: dict, *dropped: str) -> dict:
    """The database apart from the callbacks' stored replies, the customer-service windows the members' messages
    open whatever the answer (and the keys named)."""
    return {key: value for key, value in state.items()
            if not key.startswith(keys.callback_dedup("")) and not key.endswith(":push-facts") and key not in dropped}


async def test_an_item_redeemed_up_to_its_per_member_limit_is_refused_at_the_offer(chat):
    member_id = await chat.member("o_quin", points=5000)
    number = re.search(r"(\d+)\. 品牌帆布袋", await chat.say("o_quin", "兑换")).group(1)
    await chat.say("o_quin", f"兑换 {number}")
    assert "兑换成功" in await chat.say("o_quin", "确认")
    refused = await chat.say("o_quin", f"兑换 {number}")
    assert "该礼品每人可兑换的次数已用完：品牌帆布袋（服务台领取）" in refused
    assert "已经办理完成" in await chat.say("o_quin", "取消")        # the settled redemption, no new offer
    assert await chat.balance(member_id) == 3500


async def test_five_concurrent_confirms_redeem_once(chat, redis):
    member_id = await chat.member("o_fay", points=2000)
    await chat.say("o_fay", "兑换 3")                                     # 星巴克中杯兑换券, 800
    replies = await asyncio.gather(*(chat.say("o_fay", "确认") for _ in range(5)))
    assert all("兑换成功" in reply for reply in replies)
    assert len({CODE.search(reply).group(1) for reply in replies}) == 1
    assert await chat.balance(member_id) == 1200
    assert len(await chat.services.coupons.wallet(member_id)) == 1
    assert await redis.hlen(keys.member_redemptions(member_id)) == 1
    assert await ledger_totals(redis, [member_id]) == (1200, 800)
    assert (await chat.services.redemption.stock("sbux-tall"))["sold"] == 1


async def test_confirm_and_cancel_sent_at_once_have_one_outcome_the_ledger_and_stock_agree_with(chat, redis):
    """确认 and 取消 racing: either 确认 claimed the offer first (it is redeemed, 取消 says it is under way)
    or 取消 dropped it first (nothing is redeemed, 确认 finds nothing); never "已取消" and "兑换成功" both."""
    members = {f"o_race_{n}": await chat.member(f"o_race_{n}", points=1000) for n in range(8)}
    redeemed = []
    for n, (openid, member_id) in enumerate(members.items()):
        await chat.say(openid, "兑换 3")                                     # 星巴克中杯兑换券, 800
        words = ("确认", "取消") if n % 2 == 0 else ("取消", "确认")
        replies = dict(zip(words, await asyncio.gather(*(chat.say(openid, word) for word in words))))
        assert not ("兑换成功" in replies["确认"] and "已取消" in replies["取消"])
        if "兑换成功" in replies["确认"]:
            assert "兑换「星巴克中杯兑换券」已" in replies["取消"] and "无法取消" in replies["取消"]
            assert await chat.balance(member_id) == 200 and len(await chat.services.coupons.wallet(member_id)) == 1
            redeemed.append(member_id)
        else:
            assert "已取消：兑换「星巴克中杯兑换券」" in replies["取消"] and "没有需要确认的操作" in replies["确认"]
            assert await chat.balance(member_id) == 1000 and await chat.services.coupons.wallet(member_id) == []
    assert (await chat.services.redemption.stock("sbux-tall"))["sold"] == len(redeemed)
    assert await ledger_totals(redis, members.values()) == (8000 - 800 * len(redeemed), 800 * len(redeemed))


async def test_cancel_after_a_confirmation_says_it_cannot_be_cancelled(chat):
    member_id = await chat.member("o_ivo", points=1000)
    await chat.say("o_ivo", "兑换 3")
    assert "兑换成功" in await chat.say("o_ivo", "确认")
    assert "兑换「星巴克中杯兑换券」已经办理完成，无法取消" in await chat.say("o_ivo", "取消")
    assert "兑换成功" in await chat.say("o_ivo", "确认")                  # a late repeat: the same redemption
    assert await chat.balance(member_id) == 200


async def test_a_lottery_draw_and_a_voucher(chat):
    member_id = await chat.member("o_gus", points=3000)
    await chat.say("o_gus", "兑换 1")
    drawn = await chat.say("o_gus", "确认")
    assert "兑换成功，已使用 100 积分" in drawn
    assert any(word in drawn for word in ("恭喜抽中", "下次好运"))
    await chat.say("o_gus", "兑换")
    lines = await chat.say("o_gus", "兑换")
    number = re.search(r"(\d+)\. 品牌帆布袋", lines).group(1)
    await chat.say("o_gus", f"兑换 {number}")
    voucher = await chat.say("o_gus", "确认")
    assert "您获得了：品牌帆布袋（服务台领取）" in voucher and CODE.search(voucher)
    assert any(c.template.kind == "voucher" for c in await chat.services.coupons.wallet(member_id))


async def test_the_menu_keys_reach_the_catalogue_and_the_wallet(chat):
    await chat.member("o_hal", points=100)
    now = int(time.time())
    answer = await chat.peer.post(event_xml("o_hal", "CLICK", "REDEEM", create_time=now))
    assert "积分兑换" in answer.content
    answer = await chat.peer.post(event_xml("o_hal", "CLICK", "MY_COUPONS", create_time=now))
    assert "还没有可用的优惠券" in answer.content
    help_text = await chat.say("o_hal", "帮助")
    assert all(word in help_text for word in ("兑换", "我的券", "券 券码", "确认", "取消"))


async def test_a_coupon_is_shown_with_a_qr_image_of_its_code(start_bot, start_sandbox, clock):
    sandbox = await start_sandbox(callback_timeout=3.0)
    client = await start_bot(wechat_api_base=sandbox.url, wechat_token=SANDBOX_TOKEN, wechat_appid=SANDBOX_APPID,
                             wechat_appsecret=SANDBOX_SECRET)
    await sandbox.client.settings(bot_callback_url=str(client.make_url("/wechat")))
    persona = await sandbox.client.add_member(nickname="Ivy", follow=True)
    chat = Chat(WeChatPeer(client), client)
    member_id = await chat.services.members.member_id_for_openid(persona["openid"])
    await chat.services.points.grant(member_id, 600, "test", "seed:ivy")
    await sandbox.client.text(persona["openid"], "兑换 2")
    done = (await sandbox.client.text(persona["openid"], "确认"))["reply"]["text"]["content"]
    code = CODE.search(done).group(1)
    shown = (await sandbox.client.text(persona["openid"], f"券 {code}"))["reply"]["text"]["content"]
    assert code in shown
    await client.server.app[DISPATCHER].drain()
    [image] = [m["message"] for m in await sandbox.client.delivered(persona["openid"], channel="custom")]
    png = await sandbox.client.session.get(f"{sandbox.url}/sandbox/media/{image['image']['media_id']}")
    assert await png.read() == qr_png(code.replace("-", ""))

    till = Till(client, clock)
    used = await till.post(f"/api/v1/coupons/{code}/redeem", {"txn_id": "T-ivy-1", "amount": "260.00",
                                                              "category": "dining", "store_id": "S01"})
    assert used.status == 200 and used.json["discount"] == "30.00"
    wallet = (await sandbox.client.text(persona["openid"], "我的券"))["reply"]["text"]["content"]
    assert code not in wallet                                                   # used: gone from the wallet
