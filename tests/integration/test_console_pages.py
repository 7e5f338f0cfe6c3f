"""The console's pages over HTTP: the dashboard from the metrics service, a member found by member id or phone
(shown masked) with the staff's actions, each with a reason and in the audit log."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.app_keys import SERVICES
from bot.events import facts_consumer
from loyalty_core.console_access import Permission
from loyalty_core.push.model import Content, Push
from tests.console_client import add_user, csrf_of, log_in
from tests.integration.test_till_api import bind_phone
from tests.integration.till import Till

PHONE = "13800138000"


@pytest.fixture
async def mall(redis, start_bot, clock):
    bot = await start_bot()
    services = bot.app[SERVICES]
    till = Till(bot, clock)
    member_ids = [(await services.members.follow(f"o_console_{i}", f"evt:{i}")).member_id for i in range(5)]
    for i in range(3):
        assert (await till.purchase({"openid": f"o_console_{i}"}, "120.00")).status == 200
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await facts_consumer(services, "t").drain()
    await add_user(bot, "boss@mall.test", "admin")
    await add_user(bot, "desk@mall.test", "service_staff")
    return bot, services, member_ids


async def members_in_redis(redis) -> int:
    return len([key async for key in redis.scan_iter(match="{m:*}:profile", count=1000)])


async def test_the_dashboard_counts_the_members_in_redis_and_shows_the_headline_metrics(mall, redis):
    bot, services, _ = mall
    await log_in(bot, "boss@mall.test")
    html = await (await bot.get("/console/dashboard")).text()
    shown = re.search(r'data-metric="members">\s*<div class="label">[^<]*</div>\s*<div class="value">([^<]*)<', html)
    assert shown and int(shown.group(1).replace(",", "")) == await members_in_redis(redis) == 5
    headline = (await services.metrics.today(services.facts.today())).to_dict()
    active = re.search(r'data-metric="active_rate">.*?<div class="value">([^<]*)<', html, re.S).group(1)
    assert active == f"{headline['active_rate'] * 100:.1f}%" == "60.0%"
    for rate in ("coupon_use_rate", "member_day_uplift", "member_day_sign_up_uplift"):
        shown = re.search(rf'data-metric="{rate}">.*?<div class="value">([^<]*)<', html, re.S).group(1)
        assert shown == f"{headline[rate] * 100:.1f}%"
    assert "目标 target 45%" in html and "<svg" in html


async def test_a_member_is_found_by_member_id_and_the_page_shows_points_and_coupons(mall):
    bot, services, member_ids = mall
    csrf = await log_in(bot, "desk@mall.test")
    found = await bot.post("/console/members", data={"csrf": csrf, "by": "member_id", "q": member_ids[0]},
                           allow_redirects=False)
    assert found.status == 303 and found.headers["Location"] == f"/console/members/{member_ids[0]}"
    html = await (await bot.get(found.headers["Location"])).text()
    assert "120" in html and "purchase" in html
    missing = await bot.post("/console/members", data={"csrf": csrf, "by": "member_id", "q": "M999999"})
    assert missing.status == 404 and "no such member" in await missing.text()


async def test_a_phone_search_finds_the_member_and_shows_the_phone_masked(mall):
    bot, services, member_ids = mall
    await bind_phone(Till(bot, services.clock), member_ids[1], PHONE)
    csrf = await log_in(bot, "desk@mall.test")
    page = await bot.post("/console/members", data={"csrf": csrf, "by": "phone", "q": "138 0013 8000"})
    html = await page.text()
    assert page.url.path == f"/console/members/{member_ids[1]}"     # the phone is in no URL
    assert "138****8000" in html and PHONE not in html
    unknown = await bot.post("/console/members", data={"csrf": csrf, "by": "phone", "q": "13900139000"})
    assert unknown.status == 404 and "13900139000" not in await unknown.text()


async def test_staff_adjust_points_with_a_reason_once_per_form_and_it_is_audited(mall):
    bot, services, member_ids = mall
    await log_in(bot, "desk@mall.test")
    page = await (await bot.get(f"/console/members/{member_ids[3]}")).text()
    form = {"csrf": csrf_of(page), "action_id": re.search(r'name="action_id" value="([^"]+)"', page).group(1),
            "points": "200"}
    refused = await bot.post(f"/console/members/{member_ids[3]}/points", data=form)
    assert refused.status == 422 and "needs a reason" in await refused.text()
    before = (await services.points.summary(member_ids[3], services.clock.now())).balance
    for _ in range(2):                                     # a double click
        await bot.post(f"/console/members/{member_ids[3]}/points", data={**form, "reason": "goodwill: lost receipt"})
    after = (await services.points.summary(member_ids[3], services.clock.now())).balance
    assert after - before == 200
    entries = [e for e in await services.console.audit_log() if e.action == "points.adjust"]
    assert entries[0].who == "desk@mall.test" and entries[0].target == member_ids[3]
    assert entries[0].reason == "goodwill: lost receipt" and "points=+200" in entries[0].detail


async def test_staff_revoke_a_coupon_and_issue_one_again_with_a_reason(mall):
    bot, services, member_ids = mall
    coupon = await services.coupons.issue(member_ids[4], services.program.coupons.templates[0].id, "t-1")
    await log_in(bot, "desk@mall.test")
    page = await (await bot.get(f"/console/members/{member_ids[4]}")).text()
    csrf = csrf_of(page)
    revoked = await bot.post(f"/console/members/{member_ids[4]}/coupons/revoke",
                             data={"csrf": csrf, "code": coupon.code, "reason": "issued by mistake"})
    assert revoked.status == 200 and f"revoked {coupon.code}" in await revoked.text()
    action = re.search(r'name="action_id" value="([^"]+)"', await revoked.text()).group(1)
    issued = await bot.post(f"/console/members/{member_ids[4]}/coupons/issue",
                            data={"csrf": csrf, "action_id": action, "reason": "the right one this time",
                                  "template_id": coupon.template.id})
    assert issued.status == 200
    assert (await services.coupons.member_coupon(member_ids[4], coupon.code)).status == "revoked"
    [again] = await services.coupons.wallet(member_ids[4])
    assert again.status == "issued" and again.template.id == coupon.template.id and again.code != coupon.code
    actions = [e.action for e in await services.console.audit_log()]
    assert actions[:2] == ["coupon.issue", "coupon.revoke"]


async def test_a_community_manager_reads_members_but_may_not_act(mall):
    bot, services, member_ids = mall
    await add_user(bot, "yoga@mall.test", "community_manager")
    csrf = await log_in(bot, "yoga@mall.test")
    page = await (await bot.get(f"/console/members/{member_ids[0]}")).text()
    assert "adjust-points" not in page
    refused = await bot.post(f"/console/members/{member_ids[0]}/points",
                             data={"csrf": csrf, "points": "100", "reason": "x", "action_id": "a" * 30})
    assert refused.status == 403
    assert Permission.MEMBERS_ACT.value == "members.act"


async def test_the_service_desk_sees_the_birthdays_of_the_week_and_not_those_after(mall):
    bot, services, member_ids = mall
    await services.birthdays.change(member_ids[0], "1990-01-17", "solar", staff_id="S1", reason="test", request_id="b1")
    await services.birthdays.change(member_ids[1], "1990-01-30", "solar", staff_id="S1", reason="test", request_id="b2")
    await log_in(bot, "desk@mall.test")
    html = await (await bot.get("/console/birthdays")).text()
    rows = re.findall(r"<tr><td>([^<]+)</td>\s*<td>(.*?)</td></tr>", html, re.S)
    assert len(rows) == 7
    assert [day for day, cell in rows if member_ids[0] in cell] == ["01-17 Sat"]
    assert member_ids[1] not in html


async def test_staff_send_a_message_again_once_per_form_with_a_reason(mall):
    bot, services, member_ids = mall
    original = await services.pushes.plan(Push(
        push_id="", member_id=member_ids[2], kind="service", topic="points:T1",
        not_after=services.clock.now() + timedelta(hours=6), content=Content.text("积分已到账")))
    await log_in(bot, "desk@mall.test")
    page = await (await bot.get(f"/console/members/{member_ids[2]}")).text()
    form = {"csrf": csrf_of(page), "action_id": re.search(r'name="action_id" value="([^"]+)"', page).group(1),
            "reason": "member says it never came"}
    for _ in range(2):
        answer = await bot.post(f"/console/members/{member_ids[2]}/deliveries/{original.push_id}/resend", data=form)
        assert answer.status == 200
    resent = {d.push_id for d in await services.pushes.deliveries(member_ids[2]) if d.topic == "staff-resend"}
    assert len(resent) == 1 and original.push_id not in resent
    unknown = await bot.post(f"/console/members/{member_ids[2]}/deliveries/nosuchpush/resend", data=form)
    assert unknown.status == 404
    [entry, *_] = [e for e in await services.console.audit_log() if e.action == "notice.resend"]
    assert entry.reason == "member says it never came" and original.push_id in entry.detail


async def test_staff_change_a_birthday_with_a_reason_and_the_date_stays_out_of_the_audit_log(mall):
    bot, services, member_ids = mall
    await log_in(bot, "desk@mall.test")
    page = await (await bot.get(f"/console/members/{member_ids[2]}")).text()
    assert "未设置 not set" in page
    form = {"csrf": csrf_of(page), "action_id": re.search(r'name="action_id" value="([^"]+)"', page).group(1),
            "birthday": "1990-01-17", "reason": "typed the wrong month in chat"}
    changed = await bot.post(f"/console/members/{member_ids[2]}/birthday", data=form)
    assert changed.status == 200 and "birthday set" in await changed.text()
    assert member_ids[2] in await services.birthdays.members_with_birthday_on(services.facts.today().replace(day=17))
    lunar = await bot.post(f"/console/members/{member_ids[2]}/birthday",
                           data={**form, "birthday": "not a date", "calendar": "lunar"})
    assert lunar.status == 422
    [entry, *_] = [e for e in await services.console.audit_log() if e.action == "birthday.change"]
    assert entry.reason == "typed the wrong month in chat" and "1990" not in entry.detail
