"""Satisfaction surveys with the bot, the sandbox and a sender wired together: some days after a purchase the
member is asked about it (once, however often the job runs), their next message with a score answers it, and
the results are kept per store; an answer goes to whichever question was asked last."""
from __future__ import annotations

from datetime import timedelta
from importlib import resources

import pytest

from bot.app_keys import SERVICES
from bot.events import survey_consumer
from bot.scheduler.process import runner_for
from tests.fixtures_push import advance, align_clock
from tests.integration.till import Till

PACKAGED = resources.files("loyalty_core").joinpath("program_default.toml")


@pytest.fixture
async def mall(start_wired, clock, make_sender, redis, tmp_path):
    program = tmp_path / "program.toml"
    program.write_text(PACKAGED.read_text().replace("after_purchase = false", "after_purchase = true"))
    wired = await start_wired(program_file=str(program))
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    services = wired.bot.app[SERVICES]
    return wired, services, await make_sender(wired.sandbox), Till(wired.bot, clock)


async def surveys_due(services) -> str:
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await survey_consumer(services, "test").drain()
    return await runner_for(services, timedelta(seconds=30)).run_again("purchase-surveys")


async def test_a_purchase_is_surveyed_days_later_once_and_the_answer_counts_for_its_store(mall, clock, redis):
    wired, services, sender, till = mall
    openid = await wired.join("顾客")
    assert (await till.purchase({"openid": openid}, "300.00", store_id="S01")).status == 200
    assert await surveys_due(services) == "0 satisfaction surveys asked"            # not yet: 3 days after
    await advance(clock, wired.sandbox, 3 * 86400 + 60)
    assert await surveys_due(services) == "1 satisfaction survey asked"
    assert await surveys_due(services) == "0 satisfaction surveys asked"
    await sender.drain()
    await wired.say(openid, "积分")                                                # the member writes again …
    await wired.drain()
    await sender.drain()
    asked = [entry for entry in await wired.wechat.delivered(openid) if entry["channel"] == "custom"
             and "购物体验满意吗" in entry["message"]["text"]["content"]]
    assert len(asked) == 1                                                         # … and the question follows
    assert "这次在 S01 的购物体验打出 4 分并留下建议" in await wired.say(openid, "4 收银排队有点久")
    assert "目前没有需要您打分的" in await wired.say(openid, "5")                    # answered: nothing is open
    answer = await till.admin.get("/api/v1/admin/surveys/stores/S01")
    assert answer.json == {"store_id": "S01", "count": 1, "average": 4.0}


async def test_an_unanswered_question_closes_after_its_days(mall, clock):
    wired, services, sender, till = mall
    openid = await wired.join("不回答")
    await till.purchase({"openid": openid}, "88.00", store_id="S02")
    await advance(clock, wired.sandbox, 3 * 86400 + 60)
    await surveys_due(services)
    await advance(clock, wired.sandbox, services.program.survey.answer.total_seconds() + 60)
    assert "目前没有需要您打分的" in await wired.say(openid, "5")
    assert (await till.admin.get("/api/v1/admin/surveys/stores/S02")).json["count"] == 0


async def test_the_answer_goes_to_the_question_asked_last(mall, clock):
    wired, services, sender, till = mall
    openid = await wired.join("两个问题")
    member_id = await services.members.member_id_for_openid(openid)
    await till.purchase({"openid": openid}, "120.00", store_id="S01")
    event = await services.events.publish({
        "event_id": "salon", "title": "艺术沙龙", "place": "中庭", "capacity": 5,
        "starts_at": (clock.now() + timedelta(hours=1)).isoformat(),
        "ends_at": (clock.now() + timedelta(hours=2)).isoformat()})
    await services.events.sign_up(member_id, event.number)
    await services.events.check_in(event.event_id, (await services.member_codes.issue(member_id)).code)
    await advance(clock, wired.sandbox, 3 * 86400 + 60)                            # the purchase's question now
    await surveys_due(services)
    assert "这次在 S01 的购物体验打出 5 分" in await wired.say(openid, "5")
    assert (await services.events.counts(event.event_id)).feedback_count == 0
