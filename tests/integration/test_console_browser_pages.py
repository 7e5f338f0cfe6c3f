"""The console's communities, events, catalogue and feedback pages in headless Chromium, with the bot and the
sandbox wired together: a linked manager creates a community, previews a broadcast's plan and confirms it; an
event is published and a member checked in; and every one of these pages, at 1280 and at 390 pixels wide, fits the
window (no sideways scrolling of the page itself), shows its Chinese text and says something useful when empty."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app_keys import SERVICES
from loyalty_core import keys
from tests.browser import chromium_page, console_log_in
from tests.console_client import PASSWORD, add_user
from tests.fixtures_push import align_clock

pytestmark = pytest.mark.browser
WIDTHS = (1280, 390)


@pytest.fixture
async def mall(start_wired, clock, redis):
    wired = await start_wired()
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    services = wired.bot.app[SERVICES]
    manager = await services.members.member_id_for_openid(await wired.join("社群管理员"))
    members = [await services.members.member_id_for_openid(await wired.join(f"会员{n}")) for n in range(3)]
    await add_user(wired.bot, "boss@mall.test", "admin")
    await services.console.link_member("boss@mall.test", manager, by="test", reason="the yoga club's manager")
    return wired, services, manager, members


async def log_in(page, base: str, email: str) -> None:
    await console_log_in(page, base, email, PASSWORD)


async def fits(page) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


async def test_a_manager_creates_a_community_previews_a_broadcast_and_confirms_it(mall, redis, output_dir):
    wired, services, manager, members = mall
    base = str(wired.bot.make_url("")).rstrip("/")
    async with chromium_page(width=1280, height=900) as (page, problems):
        await log_in(page, base, "boss@mall.test")
        await page.click("nav >> text=社群 Communities")
        await page.screenshot(path=str(output_dir / "communities-empty.png"), full_page=True)
        empty_text = await page.inner_text("#community-list")
        await page.fill("#create-community input[name=community_id]", "yoga")
        await page.fill("#create-community input[name=name]", "瑜伽社")
        await page.fill("#create-community input[name=description]", "每周六早晨一起练习")
        await page.click("#create-community button")
        await page.wait_for_selector("text=created 瑜伽社")
        for member_id in members:
            await services.communities.join(member_id, "瑜伽社")
        await page.reload()
        await page.fill("#compose-broadcast textarea[name=text]", "本周六早上8点中庭集合，一起做晨练")
        await page.click("#preview-broadcast")
        await page.wait_for_selector("#plan")
        planned = await page.inner_text("#plan-members")
        await page.screenshot(path=str(output_dir / "broadcast-preview.png"), full_page=True)
        await page.click("#confirm")
        await page.wait_for_selector("text=confirmed for 3 members")
        await page.screenshot(path=str(output_dir / "broadcast-confirmed.png"), full_page=True)
        await page.set_viewport_size({"width": 390, "height": 900})
        phone_fits = [await fits(page)]
        await page.screenshot(path=str(output_dir / "broadcast-390.png"), full_page=True)
        await page.goto(f"{base}/console/communities/yoga")
        await page.fill("#compose-broadcast textarea[name=text]", "下周六同一时间再见")
        await page.click("#preview-broadcast")
        await page.wait_for_selector("#plan")
        phone_fits.append(await fits(page))
        await page.screenshot(path=str(output_dir / "broadcast-preview-390.png"), full_page=True)
    assert problems == []
    assert "no communities yet" in empty_text and planned == "3" and phone_fits == [True, True]
    [broadcast_id] = await redis.zrange(keys.community_broadcasts("yoga"), 0, -1)
    assert (await redis.hgetall(keys.broadcast(broadcast_id)))["status"] == "confirmed"


async def test_an_event_is_published_and_a_member_checked_in(mall, redis, output_dir):
    wired, services, _, members = mall
    base = str(wired.bot.make_url("")).rstrip("/")
    starts = services.clock.now().replace(microsecond=0, second=0)
    async with chromium_page(width=1280, height=900) as (page, problems):
        await log_in(page, base, "boss@mall.test")
        await page.goto(f"{base}/console/events")
        await page.fill("input[name=event_id]", "wine-night")
        await page.fill("input[name=title]", "春季品酒会")
        await page.fill("input[name=starts_at]", f"{starts.date().isoformat()}T23:00")
        await page.fill("input[name=ends_at]", f"{starts.date().isoformat()}T23:30")
        await page.fill("input[name=place]", "L1 中庭")
        await page.fill("input[name=capacity]", "20")
        await page.click("#publish-event button")
        await page.wait_for_selector("text=published as 报名 1")
        await services.events.sign_up(members[0], 1)
        await page.reload()
        await page.select_option("#check-in select[name=by]", "member_id")
        await page.fill("#check-in input[name=q]", members[0])
        await page.click("#check-in button")
        await page.wait_for_selector(f"text={members[0]} checked in")
        await page.screenshot(path=str(output_dir / "event-checked-in.png"), full_page=True)
    assert problems == []
    assert await redis.sismember(keys.event_checked_in("wine-night"), members[0])


async def test_every_new_page_fits_a_desktop_and_a_phone(mall, output_dir):
    wired, services, manager, members = mall
    await services.communities.create("yoga", "瑜伽社", "每周六早晨一起练习")
    await services.service_desk.suggest(members[0], "停车场的指引可以再清楚一些，周末找车位很难", "m1")
    now = services.clock.now()
    await services.events.publish({"event_id": "salon", "title": "亲子手作沙龙", "place": "三楼活动室", "capacity": 12,
                                   "starts_at": (now + timedelta(days=2)).isoformat(),
                                   "ends_at": (now + timedelta(days=2, hours=2)).isoformat(), "notes": "请带围裙"})
    base = str(wired.bot.make_url("")).rstrip("/")
    pages = ("communities", "communities/yoga", "events", "events/salon", "catalogue", "inbox", "users")
    overflowing = []
    for width in WIDTHS:
        async with chromium_page(width=width, height=900) as (page, problems):
            await log_in(page, base, "boss@mall.test")
            for path in pages:
                await page.goto(f"{base}/console/{path}")
                await page.screenshot(path=str(output_dir / f"{path.replace('/', '-')}-{width}.png"), full_page=True)
                if not await fits(page):
                    overflowing.append((path, width))
                assert "会员运营后台" in await page.title()
        assert problems == []
    assert overflowing == []
