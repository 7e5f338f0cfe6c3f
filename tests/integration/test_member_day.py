"""The member day: member-day-only rewards in chat and coupons at the till, the lottery (抽奖) once per member and
member day, and the announcement the day before (a campaign made from the program file)."""
from __future__ import annotations

import asyncio
import re
from datetime import date, datetime
from importlib import resources

import pytest

from bot.app_keys import SERVICES
from loyalty_core import keys
from loyalty_core.clock import MALL_TZ
from tests.integration.rewards import Chat
from tests.integration.till import Till
from tests.wechat_peer import WeChatPeer

ON_THE_DAY = datetime(2026, 1, 18, 12, 0, tzinfo=MALL_TZ)
THE_DAY_BEFORE = datetime(2026, 1, 17, 12, 0, tzinfo=MALL_TZ)
BASKET = {"amount": "150", "category": "dining"}


@pytest.fixture
async def chat(start_bot, redis) -> Chat:
    client = await start_bot()
    return Chat(WeChatPeer(client), client)


def with_prizes(tmp_path, prizes: str) -> str:
    """The default program file with these [[member_day.prizes]] instead of its own."""
    text = resources.files("loyalty_core").joinpath("program_default.toml").read_text(encoding="utf-8")
    text = re.sub(r"\[\[member_day\.prizes\]\]\n(?:[^\n]+\n)+\n", "", text)
    path = tmp_path / "program.toml"
    path.write_text(text + prizes, encoding="utf-8")
    return str(path)


async def test_a_member_day_item_is_listed_marked_and_redeemed_only_on_the_member_day(chat, clock):
    clock.set(THE_DAY_BEFORE)
    await chat.member("o_amy", points=1000)
    assert "奶茶" not in await chat.say("o_amy", "兑换")            # after what may be redeemed today
    listing = await chat.say("o_amy", "兑换 下一页")
    assert "6. 【会员日专享】招牌奶茶买一送一券 — 300 积分" in listing
    refused = await chat.say("o_amy", "兑换 6")
    assert refused == "该礼品为会员日专享，仅在会员日可兑换。下一个会员日：1月18日，届时欢迎再来！"

    clock.set(ON_THE_DAY)
    listing = await chat.say("o_amy", "兑换")
    assert "2. 【会员日专享】招牌奶茶买一送一券 — 300 积分" in listing   # by its price, as any item on the day
    offer = await chat.say("o_amy", "兑换 2")
    assert "所需积分：300 分" in offer
    assert "兑换成功" in await chat.say("o_amy", "确认")


async def test_a_member_day_coupon_is_refused_at_the_till_outside_the_member_day_naming_the_next(start_bot, clock, redis):
    till = Till(await start_bot(), clock)
    clock.set(datetime(2026, 1, 19, 10, 0, tzinfo=MALL_TZ))
    member_id = (await till.services.members.follow("o_ann", "join:o_ann")).member_id
    code = (await till.services.coupons.issue(member_id, "member-day-100-20", "test:o_ann")).grouped

    checked = await till.get(f"/api/v1/coupons/{code}?amount=150&category=dining")
    assert checked.status == 200
    assert (checked.json["applies"], checked.json["reason"], checked.json["next_member_day"]) == \
        (False, "not_member_day", "2026-02-18")
    assert "2026-02-18" in checked.json["message"]
    refused = await till.post(f"/api/v1/coupons/{code}/redeem", {"txn_id": "T-1"} | BASKET)
    assert (refused.status, refused.error) == (422, "not_member_day")
    assert "the next is 2026-02-18" in refused.json["error"]["message"]
    assert (await till.services.coupons.member_coupon(member_id, code)).status == "issued"

    clock.set(datetime(2026, 2, 18, 10, 0, tzinfo=MALL_TZ))
    assert (await till.get(f"/api/v1/coupons/{code}?amount=150&category=dining")).json["applies"] is True
    used = await till.post(f"/api/v1/coupons/{code}/redeem", {"txn_id": "T-1"} | BASKET)
    assert (used.status, used.json["status"], used.json["discount"]) == (200, "used", "20.00")


async def test_the_lottery_is_polite_outside_the_member_day(chat, clock):
    clock.set(THE_DAY_BEFORE)
    await chat.member("o_ben")
    assert await chat.say("o_ben", "抽奖") == "会员日抽奖只在会员日开放哦。下一个会员日是1月18日，届时发送「抽奖」试试手气！"


async def test_one_draw_per_member_day_and_a_won_coupon_is_in_the_wallet(start_bot, clock, redis, tmp_path):
    clock.set(ON_THE_DAY)
    client = await start_bot(program_file=with_prizes(tmp_path, """
[[member_day.prizes]]
title = "会员日 满100减20 券"
weight = 1
template = "member-day-100-20"
"""))
    chat = Chat(WeChatPeer(client), client)
    member_id = await chat.member("o_cat")
    won = await chat.say("o_cat", "抽奖")
    assert won.startswith("恭喜您抽中「会员日 满100减20 券」！") and "奖品券已放入您的券包" in won
    again = await chat.say("o_cat", "抽奖")
    assert again.startswith("您今天已经抽过奖了") and "您的抽奖结果：会员日 满100减20 券" in again
    wallet = await chat.services.coupons.wallet(member_id)
    assert [c.template.id for c in wallet] == ["member-day-100-20"]          # the repeat issued nothing more

    clock.set(datetime(2026, 2, 18, 12, 0, tzinfo=MALL_TZ))
    assert (await chat.services.lottery.draw(member_id)).first is True       # a new member day, a new draw


async def test_concurrent_draws_never_give_out_more_than_the_stock(start_bot, clock, redis, tmp_path):
    clock.set(ON_THE_DAY)
    client = await start_bot(program_file=with_prizes(tmp_path, """
[[member_day.prizes]]
title = "奶茶买一送一券"
weight = 1
template = "tea-bogo"
stock = 3
"""))
    services = client.server.app[SERVICES]
    members = [(await services.members.follow(f"o_{n}", f"join:o_{n}")).member_id for n in range(12)]
    draws = await asyncio.gather(*(services.lottery.draw(m) for m in members for _ in range(2)))
    winners = {d_member for d_member, d in zip([m for m in members for _ in range(2)], draws) if d.prize}
    assert len(winners) == 3
    assert await services.lottery._store.stock_used(date(2026, 1, 18)) == {0: 3}
    assert await redis.hlen(keys.member_day_draws(date(2026, 1, 18))) == 12
    for member_id in members:
        held = [c for c in await services.coupons.wallet(member_id) if c.template.id == "tea-bogo"]
        assert len(held) == (1 if member_id in winners else 0)


async def test_the_announcement_is_a_campaign_the_day_before_made_once(chat, clock):
    clock.set(datetime(2026, 1, 10, 9, 0, tzinfo=MALL_TZ))
    builtin = chat.services.builtin_campaigns
    made = await builtin.ensure()
    assert await builtin.ensure() == made
    assert "member-day-2026-01-18" in made
    status = await chat.services.campaigns.status("member-day-2026-01-18")
    assert (status["status"], status["next_send_at"]) == ("scheduled", "2026-01-17T18:00:00+08:00")
    _, definition = await chat.services.campaigns.stored("member-day-2026-01-18")
    assert definition.variants[0].text.startswith("{{ member.name }}，明天（1月18日）是会员日")
