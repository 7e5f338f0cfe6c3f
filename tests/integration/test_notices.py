"""Notices with the bot, the sandbox and a sender wired together: what a purchase, refund or upgrade did reaches
the member once, through the channel the platform allows; the scheduler's greetings and reminders too."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app_keys import SERVICES
from bot.events import notice_consumer
from bot.scheduler.process import runner_for
from tests.fixtures_push import advance, align_clock
from tests.integration.till import Till


@pytest.fixture
async def mall(start_wired, clock, make_sender):
    wired = await start_wired()
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    services = wired.bot.app[SERVICES]
    sender = await make_sender(wired.sandbox)
    return wired, services, sender, Till(wired.bot, clock)


async def member(wired, services, nickname: str) -> tuple[str, str]:
    openid = await wired.join(nickname)
    return openid, await services.members.member_id_for_openid(openid)


async def notices_of(wired, openid: str) -> list[tuple[str, object]]:
    """(channel, what the member sees) of the messages the bot sent first."""
    shown = []
    for entry in await wired.wechat.delivered(openid):
        if entry["channel"] == "custom":
            shown.append(("custom", entry["message"]["text"]["content"]))
        elif entry["channel"] in ("template", "subscribe"):
            shown.append((entry["channel"], entry["message"]["notice"]))
    return shown


async def deliver(services, sender, consumer) -> None:
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await consumer.drain()
    await sender.drain()


async def test_a_purchase_tells_the_member_once_by_template_when_the_window_has_closed(mall, clock):
    wired, services, sender, till = mall
    openid, member_id = await member(wired, services, "小王")
    await advance(clock, wired.sandbox, 61)             # the follow's one-minute window has closed
    assert (await till.purchase({"openid": openid}, "199.00")).status == 200
    consumer = notice_consumer(services, "test")
    await deliver(services, sender, consumer)
    await deliver(services, sender, consumer)           # again: nothing new
    [(channel, notice)] = await notices_of(wired, openid)
    assert channel == "template" and notice["title"] == "积分变动提醒"
    assert [(line["label"], line["value"]) for line in notice["fields"]][:3] == [
        ("变动原因", "消费积分"), ("变动积分", "199"), ("积分余额", "199")]


async def test_an_upgrade_and_its_points_follow_a_members_message_as_customer_service_messages(mall, clock):
    wired, services, sender, till = mall
    openid, member_id = await member(wired, services, "陈先生")
    await wired.say(openid, "积分")                      # a message: 5 customer-service messages in 48 hours
    assert (await till.purchase({"openid": openid}, "50000.00")).status == 200
    await deliver(services, sender, notice_consumer(services, "test"))
    texts = sorted(text for channel, text in await notices_of(wired, openid) if channel == "custom")
    assert len(texts) == 2
    assert texts[0].startswith("恭喜您升级为金卡！升级奖励 500 积分已到账。")
    assert texts[1].startswith("消费 ¥50,000 获得 50000 积分，当前可用 50000 分。")   # before the reward


async def test_a_refund_that_undoes_an_upgrade_says_so(mall, clock):
    wired, services, sender, till = mall
    openid, member_id = await member(wired, services, "李姐")
    await wired.say(openid, "积分")
    bought = await till.purchase({"openid": openid}, "50000.00", txn_id="T-big")
    assert bought.status == 200
    assert (await till.refund("T-big", "50000.00")).status == 200
    await deliver(services, sender, notice_consumer(services, "test"))
    texts = [text for channel, text in await notices_of(wired, openid) if channel == "custom"]
    assert "因退款，您的会员等级调整为普卡，升级奖励 500 积分已扣回。" in texts
    assert any(text.startswith("退款扣回 50000 积分") for text in texts)


async def test_the_birthday_job_greets_with_the_gift_once_and_the_coupon_job_reminds(mall, clock):
    wired, services, sender, till = mall
    openid, member_id = await member(wired, services, "阿美")
    today = clock.now().date()
    proposal = await services.birthdays.propose(member_id, f"1990-{today:%m-%d}", "solar")
    await services.birthdays.confirm(member_id, proposal.sealed, "op-birthday")
    await services.coupons.issue(member_id, "dining-200-30", "test-coupon")      # valid 30 days
    runner = runner_for(services, timedelta(seconds=30))
    await wired.say(openid, "积分")                      # the window is open: greetings come as messages
    await runner.run_day("birthday-greetings", today)
    await runner.run_day("birthday-greetings", today)
    await runner.run_day("coupon-expiry", today + timedelta(days=27))       # its last day is three days on
    await sender.drain()
    texts = [text for channel, text in await notices_of(wired, openid) if channel == "custom"]
    assert texts.count("亲爱的会员，生日快乐！您的生日礼「生日积分 200 分」已送到您的账户，发送「积分」查看。") == 1
    [reminder] = [text for text in texts if "到期" in text]        # the welcome coupon ends that day too
    assert "将于" in reminder and "共 2 张券同日到期" in reminder
    assert (await services.points.summary(member_id, clock.now())).balance == 200


async def test_no_notice_of_a_kind_the_program_leaves_out(start_wired, clock, make_sender, tmp_path):
    text = (Path(__file__).parents[2] / "loyalty_core" / "program_default.toml").read_text()
    start = text.index("[notices.points_earned]")
    end = text.index("# points, balance, debt, at")
    path = tmp_path / "program.toml"
    path.write_text(text[:start] + text[end:])
    wired = await start_wired(program_file=path)
    services = wired.bot.app[SERVICES]
    openid = await wired.join("小赵")
    till = Till(wired.bot, clock)
    assert (await till.purchase({"openid": openid}, "10.00")).status == 200
    await deliver(services, await make_sender(wired.sandbox), notice_consumer(services, "test"))
    assert await notices_of(wired, openid) == []


async def test_points_paid_at_the_till_and_the_payment_reversed_are_told_once_each(mall, clock):
    wired, services, sender, till = mall
    openid, member_id = await member(wired, services, "小潘")
    await wired.say(openid, "积分")
    assert (await till.purchase({"openid": openid}, "2000.00")).status == 200
    body = {"redemption_id": "P-told", "member": {"openid": openid}, "points": 1200, "txn_id": "T-paid",
            "store_id": "S01"}
    assert (await till.post("/api/v1/points/redemptions", body)).status == 200
    consumer = notice_consumer(services, "test")
    await deliver(services, sender, consumer)
    assert (await till.post("/api/v1/points/redemptions/P-told/reverse", {"reason": "cancelled"})).status == 200
    await deliver(services, sender, consumer)
    await deliver(services, sender, consumer)            # again: nothing new
    texts = [text for channel, text in await notices_of(wired, openid) if channel == "custom"]
    assert [t for t in texts if "收银台" in t] == ["您在收银台使用 1200 积分抵扣 ¥12，当前可用 800 分。发送「明细」查看积分记录。"]
    assert [t for t in texts if "撤销" in t] == ["积分抵扣已撤销，1200 积分已退回原有效期，当前可用 2000 分。"]
    catalogue = await services.points.spend(member_id, 100, "catalogue-1")     # a catalogue redemption: its own reply
    assert catalogue.points == 100
    await deliver(services, sender, consumer)
    assert len([text for channel, text in await notices_of(wired, openid) if channel == "custom"]) == len(texts)
