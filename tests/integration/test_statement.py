"""The monthly statement: a built-in recurring campaign with each member's points, spend and tier progress, not sent
to members who sent 退订 (订阅 turns it on again)."""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.app_keys import SERVICES
from bot.events import facts_consumer
from loyalty_core.clock import MALL_TZ
from loyalty_core.redis_store.push import RedisPushStore
from tests.integration.rewards import Chat
from tests.integration.till import Till
from tests.wechat_peer import WeChatPeer

NOVEMBER = datetime(2026, 11, 10, 15, 0, tzinfo=MALL_TZ)
FIRST_OF_DECEMBER = datetime(2026, 12, 1, 9, 0, tzinfo=MALL_TZ)


@pytest.fixture
async def mall(start_bot, clock, redis):
    client = await start_bot()
    return Chat(WeChatPeer(client), client), Till(client, clock), client.server.app[SERVICES]


async def planned_texts(services, member_id: str) -> list[str]:
    store = RedisPushStore(services.redis, services.scripts)
    texts = []
    for push_id in await store.inbox(member_id, 20):
        record = await store.record(member_id, push_id)
        texts.append(record.push.content.custom["text"]["content"])
    return texts


async def test_the_statement_tells_the_month_in_the_words_of_the_tier_reply(mall, clock):
    chat, till, services = mall
    clock.set(datetime(2026, 10, 20, 12, 0, tzinfo=MALL_TZ))
    member_id = await chat.member("o_amy")
    assert (await till.purchase({"openid": "o_amy"}, "500.00", "T-OCT")).status == 200     # the month before
    clock.set(NOVEMBER)
    assert (await till.purchase({"openid": "o_amy"}, "3200.00", "T-NOV")).status == 200
    assert (await till.refund("T-NOV", "200.00", "R-NOV")).status == 200

    clock.set(FIRST_OF_DECEMBER)
    text = await services.statements.text(member_id)
    tier_reply = await chat.say("o_amy", "等级")
    assert text.splitlines() == ["11月会员账单（11月1日—11月30日）：", "· 获得积分：3000 分", "· 可用积分：3500 分",
                                 "· 消费金额：3,000 元", "· 普卡：还差 46,500 元升级金卡"]
    assert "还差 46,500 元升级金卡" in tier_reply


async def test_the_statement_goes_monthly_to_those_who_take_it(mall, clock):
    chat, till, services = mall
    clock.set(NOVEMBER)
    amy, ben = await chat.member("o_amy"), await chat.member("o_ben")
    await till.purchase({"openid": "o_ben"}, "120.00", "T-BEN")
    assert "已为您退订月度会员账单" in await chat.say("o_amy", "退订")
    assert "您已退订月度会员账单，无需重复操作" in await chat.say("o_amy", "退订")
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await facts_consumer(services, "t").drain()

    clock.set(FIRST_OF_DECEMBER)
    [statement_id] = [c for c in await services.builtin_campaigns.ensure() if c.startswith("monthly-statement-")]
    status = await services.campaigns.status(statement_id)
    assert status["next_send_at"] == "2026-12-01T10:00:00+08:00"
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=MALL_TZ))
    assert await services.campaigns.send_due() == 1
    assert await planned_texts(services, amy) == []
    [told] = await planned_texts(services, ben)
    assert told.startswith("亲爱的会员，11月会员账单（11月1日—11月30日）：")
    assert "· 消费金额：120 元" in told and told.endswith("发送「退订」不再接收月度账单。")

    assert "已为您恢复月度会员账单" in await chat.say("o_amy", "订阅")
    clock.set(datetime(2027, 1, 1, 10, 0, tzinfo=MALL_TZ))
    await services.builtin_campaigns.ensure()
    assert await services.campaigns.send_due() == 1
    assert len(await planned_texts(services, amy)) == 1 and len(await planned_texts(services, ben)) == 2
