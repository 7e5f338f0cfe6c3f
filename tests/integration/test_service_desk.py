"""The service desk with the bot and the sandbox wired together: 人工 hands the chat to WeChat's customer-service
system in staffed hours (the transfer_customer_service reply) and says when staff are back otherwise; 建议
keeps a suggestion once, with the member id and the time, for staff to read through the admin API."""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.app_keys import SERVICES
from loyalty_core.clock import MALL_TZ
from tests.fixtures_push import advance, align_clock
from tests.integration.till import Till


@pytest.fixture
async def mall(start_wired, clock, redis):
    wired = await start_wired()
    await wired.sandbox.move_to_morning(hour=10)
    await align_clock(clock, wired.sandbox)
    return wired, wired.bot.app[SERVICES], Till(wired.bot, clock).admin


async def test_in_staffed_hours_the_member_is_handed_to_a_person(mall):
    wired, services, admin = mall
    openid = await wired.join("需要帮助")
    for keyword in ("人工", "客服"):
        outcome = await wired.wechat.text(openid, keyword)
        assert outcome["reply"]["msgtype"] == "transfer_customer_service"


async def test_outside_staffed_hours_the_member_is_told_when_staff_are_back(mall, clock):
    wired, services, admin = mall
    openid = await wired.join("夜猫子")
    evening = datetime.combine(clock.now().astimezone(MALL_TZ).date(), services.program.service.closes, MALL_TZ)
    clock.set(evening)
    reply = await wired.say(openid, "人工")
    assert "09:00-21:00" in reply and "明天 09:00" in reply and "建议" in reply


async def test_a_suggestion_is_kept_once_with_the_member_and_the_time(mall, clock):
    wired, services, admin = mall
    openid = await wired.join("热心人")
    outcome = await wired.wechat.text(openid, "建议 停车场的指引再清楚些")
    assert "感谢您的建议" in outcome["reply"]["text"]["content"]
    assert "请写上" in await wired.say(openid, "建议")
    answer = await admin.get("/api/v1/admin/suggestions")
    member_id = await services.members.member_id_for_openid(openid)
    assert answer.status == 200
    [suggestion] = answer.json["suggestions"]
    assert (suggestion["member_id"], suggestion["text"]) == (member_id, "停车场的指引再清楚些")
    assert datetime.fromisoformat(suggestion["at"]) == clock.now()
    await services.service_desk.suggest(member_id, "停车场的指引再清楚些", "same-message")
    await services.service_desk.suggest(member_id, "停车场的指引再清楚些", "same-message")     # a retried callback
    assert len((await admin.get("/api/v1/admin/suggestions")).json["suggestions"]) == 2


async def test_the_menus_customer_service_entry_asks_for_the_question_then_hands_it_over(mall, clock):
    wired, services, admin = mall
    openid = await wired.join("点菜单")
    assert "请发送「人工」加上您的问题" in await wired.tap(openid, "CUSTOMER_SERVICE")
    outcome = await wired.wechat.text(openid, "人工 停车怎么收费")
    assert outcome["reply"]["msgtype"] == "transfer_customer_service"
    closing = datetime.combine(clock.now().astimezone(MALL_TZ).date(), services.program.service.closes, MALL_TZ)
    await advance(clock, wired.sandbox, (closing - clock.now()).total_seconds())
    assert "明天 09:00 起为您服务" in await wired.tap(openid, "CUSTOMER_SERVICE")
