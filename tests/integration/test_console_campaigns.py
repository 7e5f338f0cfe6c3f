"""The console's campaign editor over HTTP: the live segment count and the message for sample members, schedule,
cancel with a reason, and the results with the verdict — the campaign service's own checks and answers."""
from __future__ import annotations

import re
from dataclasses import fields

import pytest

from bot.app_keys import SERVICES
from bot.events import facts_consumer
from loyalty_core import keys
from loyalty_core.segment_rules import Segment
from tests.console_client import add_user, csrf_of, log_in
from tests.integration.till import Till


@pytest.fixture
async def mall(redis, start_bot, clock):
    bot = await start_bot()
    services = bot.app[SERVICES]
    till = Till(bot, clock)
    for i in range(4):
        await services.members.follow(f"o_cp_{i}", f"evt:{i}")
    assert (await till.purchase({"openid": "o_cp_0"}, "300.00")).status == 200
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await facts_consumer(services, "t").drain()
    await add_user(bot, "mia@mall.test", "marketer")
    return bot, services


def campaign_form(csrf: str, **changes) -> dict:
    return {"csrf": csrf, "campaign_id": "spring", "name": "春季焕新", "lifecycle": "potential",
            "text_A": "{{ member.tier_name }}会员：{{ coupon.title }}", "coupon_A": "tea-bogo", "weight_A": "0.5",
            "text_B": "您好，积分 {{ member.balance }}", "coupon_B": "", "weight_B": "0.5", "holdout": "10",
            "send_at": "2026-01-20T10:00", "conversion_days": "14"} | changes


async def test_the_preview_counts_the_segment_and_renders_each_variant_for_sample_members(mall):
    bot, services = mall
    csrf = await log_in(bot, "mia@mall.test", landing="/console/campaigns/new")
    answer = await bot.post("/console/campaigns/preview", data=campaign_form(csrf), headers={"X-CSRF-Token": csrf})
    html = await answer.text()
    assert answer.status == 200
    assert re.search(r'id="segment-count">3<', html)            # the three who have not bought yet
    template = await services.coupons.template("tea-bogo")
    assert html.count('data-variant="A"') == 3 and f"普卡会员：{template.title}" in html
    assert "您好，积分 0" in html

    broken = await bot.post("/console/campaigns/preview", data=campaign_form(csrf, text_A="{{ member.nope }"),
                            headers={"X-CSRF-Token": csrf})
    assert 'class="error"' in await broken.text()
    untold = await bot.post("/console/campaigns/preview", data=campaign_form(csrf, coupon_A=""),
                            headers={"X-CSRF-Token": csrf})
    assert "this variant gives no coupon" in await untold.text()          # A's text shows a coupon it never gets
    blank = await bot.post("/console/campaigns/preview", data=campaign_form(csrf, text_A="", text_B=""),
                           headers={"X-CSRF-Token": csrf})
    blank_html = await blank.text()
    assert 'id="preview-hint"' in blank_html and 'class="error"' not in blank_html     # a new editor, not a fault
    assert re.search(r'id="segment-count">3<', blank_html)
    bad_tier = await bot.post("/console/campaigns/preview", data=campaign_form(csrf, tiers="tin"),
                              headers={"X-CSRF-Token": csrf})
    assert "tin" in await bad_tier.text() and "segment-count" not in await bad_tier.text()


async def test_a_marketer_schedules_a_campaign_then_cancels_it_with_a_reason(mall, redis):
    bot, services = mall
    csrf = await log_in(bot, "mia@mall.test", landing="/console/campaigns/new")
    created = await bot.post("/console/campaigns", data=campaign_form(csrf))
    page = await created.text()
    assert created.url.path == "/console/campaigns/spring"
    assert re.search(r'id="status" data-status="scheduled">待发送 scheduled<', page)
    assert "scheduled for 2026-01-20 10:00" in page
    assert (await services.campaigns.status("spring"))["next_send_at"].startswith("2026-01-20T10:00")
    assert "no members yet" in page                              # the verdict before anything was sent
    listed = await (await bot.get("/console/campaigns")).text()
    assert re.search(r'data-status="scheduled">待发送 scheduled</td>\s*<td>2026-01-20 10:00</td>', listed)

    cancelled = await bot.post("/console/campaigns/spring/cancel", data={"csrf": csrf_of(page),
                                                                       "reason": "wrong week"})
    assert re.search(r'id="status" data-status="cancelled">已取消 cancelled<', await cancelled.text())
    actions = [(e.action, e.target, e.reason) for e in await services.console.audit_log()][:2]
    assert actions == [("campaign.cancel", "spring", "wrong week"), ("campaign.schedule", "spring", "")]
    listed = await (await bot.get("/console/campaigns")).text()
    assert "/console/campaigns/spring" in listed
    assert re.search(r'data-status="cancelled">已取消 cancelled</td>\s*<td>—</td>', listed)


async def test_a_campaign_that_cannot_work_is_refused_with_the_reason_and_nothing_is_stored(mall, redis):
    bot, _ = mall
    csrf = await log_in(bot, "mia@mall.test", landing="/console/campaigns/new")
    refused = await bot.post("/console/campaigns", data=campaign_form(csrf, coupon_A="no-such-coupon"))
    assert refused.status == 422 and "no-such-coupon" in await refused.text()
    no_token = await bot.post("/console/campaigns", data=campaign_form(""))
    assert no_token.status == 403
    assert await redis.zcard(keys.CAMPAIGN_IDS) == 0


async def test_a_sent_campaigns_results_show_each_arms_funnel_and_its_coupons(mall):
    bot, services = mall
    csrf = await log_in(bot, "mia@mall.test", landing="/console/campaigns/new")
    await bot.post("/console/campaigns", data=campaign_form(csrf, weight_A="1", weight_B="0", text_B="", holdout="0",
                                                            send_at=""))
    await services.campaigns.send_due()
    status = await services.campaigns.status("spring")
    assert status["planned"] == 3
    page = await (await bot.get("/console/campaigns/spring")).text()
    row = re.search(r"<tr><td>A</td>(.*?)</tr>", page, re.S).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # members, sent, delivered, clicked, redeemed / issued: the three potential members each hold the coupon
    assert cells[:5] == ["3", str(status["sent"]), "0", "0", "0 / 3"]


# every condition a segment takes, as the editor's form sends it (checkboxes repeat their field)
EVERY_CONDITION = [("tiers", "gold"), ("tiers", "platinum"), ("lifecycle", "active"), ("lifecycle", "lapsing"),
                   ("spend_level", "high"), ("communities", "yoga"), ("preferred_category", "dining"),
                   ("spend_12m_min", "500"), ("spend_12m_max", "9999.5"), ("purchases_12m_min", "2"),
                   ("balance_min", "100"), ("balance_max", "5000"), ("days_since_purchase_min", "7"),
                   ("days_since_purchase_max", "60"), ("joined_within_days", "365"), ("birthday_month", "5"),
                   ("holds_coupon_template", "tea-bogo"), ("lacks_coupon_template", "dining-200-30")]


async def test_the_editor_asks_every_condition_a_segment_takes_and_the_campaign_page_names_them(start_wired, redis):
    wired = await start_wired()
    bot, services = wired.bot, wired.bot.app[SERVICES]
    await services.communities.create("yoga", "瑜伽社", "")
    await add_user(bot, "mia@mall.test", "marketer")
    csrf = await log_in(bot, "mia@mall.test", landing="/console/campaigns/new")
    editor = await (await bot.get("/console/campaigns/new")).text()
    asked = set(re.findall(r'name="([a-z_0-9]+)"', re.search(r'id="segment">(.*?)</section>', editor, re.S)[1]))
    assert asked == {item.name for item in fields(Segment)} - {"takes_statement"}     # the built-ins' own
    assert 'value="yoga"> 瑜伽社' in editor and 'value="lapsing"> 将流失 about to lapse' in editor
    assert '<option value="dining">餐饮</option>' in editor

    form = [(name, value) for name, value in campaign_form(csrf).items() if name != "lifecycle"]
    created = await bot.post("/console/campaigns", data=form + EVERY_CONDITION)
    assert created.url.path == "/console/campaigns/spring", await created.text()
    stored = (await services.campaigns.stored("spring"))[1].segment.to_dict()
    assert stored == {"tiers": ["gold", "platinum"], "lifecycle": ["active", "lapsing"], "spend_level": ["high"],
                      "communities": ["yoga"], "preferred_category": "dining", "spend_12m_min": "500.00",
                      "spend_12m_max": "9999.50", "purchases_12m_min": 2, "balance_min": 100, "balance_max": 5000,
                      "days_since_purchase_min": 7, "days_since_purchase_max": 60, "joined_within_days": 365,
                      "birthday_month": 5, "holds_coupon_template": "tea-bogo",
                      "lacks_coupon_template": "dining-200-30"}
    shown = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>",
                            re.search(r'id="campaign-segment">(.*?)</dl>', await created.text(), re.S)[1]))
    tiers = {tier.code: tier.name for tier in services.program.tiers}
    assert shown["等级 Tiers"] == f"{tiers['gold']}、{tiers['platinum']}"
    assert shown["生命周期 Lifecycle"] == "活跃 active、将流失 about to lapse"
    assert shown["社群 Communities (any of)"] == "瑜伽社" and shown["偏好品类 Preferred category"] == "餐饮"
    assert shown["未持有券 Lacks coupon"] == (await services.coupons.template("dining-200-30")).title
    assert shown["12个月消费 ≤ Spend (CNY)"] == "9999.50" and shown["生日月 Birthday month"] == "5"
    assert len(shown) == len(stored)


async def test_a_campaign_to_every_member_says_so_on_its_page(mall):
    bot, _ = mall
    csrf = await log_in(bot, "mia@mall.test", landing="/console/campaigns/new")
    created = await bot.post("/console/campaigns", data=campaign_form(csrf, lifecycle=""))
    segment = re.search(r'id="campaign-segment">(.*?)</dl>', await created.text(), re.S)[1]
    assert re.findall(r"<dd>([^<]*)</dd>", segment) == ["全部会员 every member"]
