"""The console in headless Chromium: an admin logs in and reads the dashboard (its member count is the members in
Redis), a marketer writes a campaign, watches the segment count and the preview, and schedules it; a form sent
without its CSRF token is refused and changes nothing; a marketer on an admin page gets 403."""
from __future__ import annotations

import re

import pytest

from bot.app_keys import SERVICES
from bot.events import facts_consumer
from loyalty_core import keys
from tests.browser import chromium_page, console_log_in
from tests.console_client import PASSWORD, add_user
from tests.integration.till import Till

pytestmark = pytest.mark.browser


@pytest.fixture
async def mall(redis, start_bot, clock):
    bot = await start_bot()
    services = bot.app[SERVICES]
    till = Till(bot, clock)
    for i, (name, spend) in enumerate((("小王", "60000.00"), ("陈先生", "880.00"), ("李姐", None), ("阿May", None))):
        await services.members.follow(f"o_b_{i}", f"evt:{i}")
        if spend:
            assert (await till.purchase({"openid": f"o_b_{i}"}, spend)).status == 200
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await facts_consumer(services, "t").drain()
    await add_user(bot, "boss@mall.test", "admin")
    await add_user(bot, "mia@mall.test", "marketer")
    return bot, services


async def log_in(page, base: str, email: str) -> None:
    await console_log_in(page, base, email, PASSWORD)


async def members_in_redis(redis) -> int:
    return len([key async for key in redis.scan_iter(match="{m:*}:profile", count=1000)])


async def test_an_admin_logs_in_and_the_dashboard_counts_the_members_in_redis(mall, redis, output_dir):
    bot, services = mall
    gold = await services.members.member_id_for_openid("o_b_0")
    base = str(bot.make_url("")).rstrip("/")
    async with chromium_page(width=1280, height=900) as (page, problems):
        await log_in(page, base, "boss@mall.test")
        assert page.url.endswith("/console/dashboard")
        shown = await page.inner_text('[data-metric="members"] .value')
        assert int(shown.replace(",", "")) == await members_in_redis(redis) == 4
        tier_rows = await page.locator("#by-tier tbody tr").all_inner_texts()
        assert any(row.startswith("金卡") and "\t1\t" in row for row in tier_rows), tier_rows
        await page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)
        await page.goto(f"{base}/console/users")
        await page.screenshot(path=str(output_dir / "users.png"), full_page=True)
        await page.click("nav >> text=会员 Members")
        await page.select_option("select[name=by]", "member_id")
        await page.fill("input[name=q]", gold)
        await page.click("#member-search button")
        await page.wait_for_selector("#points-history >> text=purchase")
        tier = await page.inner_text("#member-facts")
        await page.screenshot(path=str(output_dir / "member.png"), full_page=True)
    assert problems == []
    assert "金卡" in tier


async def test_a_marketer_writes_a_campaign_with_the_live_preview_and_schedules_it(mall, output_dir):
    bot, services = mall
    base = str(bot.make_url("")).rstrip("/")
    async with chromium_page(width=1280, height=1000) as (page, problems):
        await log_in(page, base, "mia@mall.test")
        await page.goto(f"{base}/console/campaigns/new")
        await page.fill("input[name=campaign_id]", "spring")
        await page.fill("input[name=name]", "春季焕新")
        await page.fill("textarea[name=text_A]", "{{ member.tier_name }}会员专享：{{ coupon.title }}")
        await page.select_option("select[name=coupon_A]", "tea-bogo")
        await page.wait_for_selector("#segment-count")
        everyone = int(await page.inner_text("#segment-count"))
        await page.check("input[name=lifecycle][value=potential]")
        await page.wait_for_selector('#segment-count:text-is("2")')
        await page.wait_for_selector('.preview[data-variant="A"] >> text=普卡会员专享')
        previews = await page.locator('.preview[data-variant="A"]').count()
        await page.fill("input[name=send_at]", "2026-01-20T10:00")
        await page.screenshot(path=str(output_dir / "campaign-editor.png"), full_page=True)
        await page.click("#schedule")
        await page.wait_for_selector("#status >> text=scheduled")
        await page.screenshot(path=str(output_dir / "campaign-scheduled.png"), full_page=True)
    assert problems == []
    assert everyone == 4 and previews == 2
    status = await services.campaigns.status("spring")
    assert status["status"] == "scheduled" and status["next_send_at"].startswith("2026-01-20T10:00")


async def test_a_form_without_its_csrf_token_is_403_and_a_marketer_on_an_admin_page_is_403(mall, redis, output_dir):
    bot, _ = mall
    base = str(bot.make_url("")).rstrip("/")
    async with chromium_page() as (page, problems):
        await log_in(page, base, "mia@mall.test")
        answer = await page.goto(f"{base}/console/users")
        assert answer.status == 403
        assert "may not open this page" in await page.inner_text("main")
        await page.screenshot(path=str(output_dir / "marketer-on-users.png"))

        await page.goto(f"{base}/console/campaigns/new")
        await page.fill("input[name=campaign_id]", "forged")
        await page.fill("input[name=name]", "无令牌")
        await page.fill("textarea[name=text_A]", "hello")
        await page.evaluate("document.querySelector('#campaign-form input[name=csrf]').remove()")
        async with page.expect_response(re.compile(r"/console/campaigns$")) as sent:
            await page.click("#schedule")
        assert (await sent.value).status == 403
        await page.wait_for_selector("text=security token")
        await page.screenshot(path=str(output_dir / "csrf-refused.png"))
    assert await redis.zcard(keys.CAMPAIGN_IDS) == 0
    assert [e for e in problems if "403" not in e] == []
