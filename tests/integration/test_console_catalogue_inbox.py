"""The console's catalogue and coupon templates (marketers) and the feedback inbox (service staff) over HTTP: who may
open them, a form without its CSRF token changes nothing, an item and a template made here are the admin API's (the
program file's checks redisplay the form), and feedback is marked handled once, with its reason in the audit log."""
from __future__ import annotations

import re

import pytest

from bot.app_keys import SERVICES
from loyalty_core import keys
from loyalty_core.redis_store.surveys import RedisSurveyStore
from loyalty_core.surveys import Asked
from tests.console_client import add_user, csrf_of, log_in


@pytest.fixture
async def mall(redis, start_bot):
    bot = await start_bot()
    services = bot.app[SERVICES]
    for email, role in (("mia@mall.test", "marketer"), ("sam@mall.test", "service_staff")):
        await add_user(bot, email, role)
    return bot, services


async def log_out(bot, page: str = "/console/members") -> None:
    await bot.post("/console/logout", data={"csrf": csrf_of(await (await bot.get(page)).text())})


async def test_a_marketer_adds_a_template_and_an_item_and_bad_definitions_come_back_with_the_reason(mall, redis):
    bot, services = mall
    await log_in(bot, "sam@mall.test")
    assert (await bot.get("/console/catalogue")).status == 403
    await log_out(bot)
    csrf = await log_in(bot, "mia@mall.test", landing="/console/catalogue")
    listed = await (await bot.get("/console/catalogue")).text()
    assert "dining-200-30" in listed and "满200减30" in listed

    template = {"csrf": csrf, "id": "tea-20", "title": "茶饮立减20", "kind": "cash_off", "value": "20",
                "valid_days": "14", "total_limit": "100", "categories": "tea，dining", "member_day_only": "1"}
    assert (await bot.post("/console/catalogue/templates", data=template | {"csrf": ""})).status == 403
    assert await redis.hexists(keys.COUPON_TEMPLATES, "tea-20") == 0
    no_validity = await bot.post("/console/catalogue/templates", data=template | {"valid_days": ""})
    assert no_validity.status == 422 and "valid_days" in await no_validity.text()
    assert 'value="茶饮立减20"' in await no_validity.text()
    made = await bot.post("/console/catalogue/templates", data=template)
    assert "coupon template tea-20 added" in await made.text()
    stored = await services.coupons.template("tea-20")
    assert stored.categories == ("tea", "dining") and stored.member_day_only and stored.total_limit == 100
    again = await bot.post("/console/catalogue/templates", data=template)
    assert again.status == 409

    item = {"csrf": csrf, "id": "tea-item", "title": "茶饮券", "kind": "coupon", "points": "800",
            "template": "tea-20", "stock": "50", "member_day_only": "1"}
    unknown = await bot.post("/console/catalogue/items", data=item | {"template": "nope"})
    assert unknown.status == 404 and await redis.hexists(keys.CATALOGUE_ITEMS, "tea-item") == 0
    assert "item tea-item added" in await (await bot.post("/console/catalogue/items", data=item)).text()
    assert (await services.redemption.item("tea-item")).stock == 50
    page = await (await bot.get("/console/catalogue")).text()
    assert re.search(r"<td>tea-item</td>.*?50/50.*?仅会员日", page, re.S)
    actions = [e.action for e in await services.console.audit_log()][:2]
    assert actions == ["catalogue.item_create", "coupon_template.create"]


async def test_service_staff_read_the_feedback_newest_first_and_mark_it_handled_once(mall, redis, clock):
    bot, services = mall
    member_id = (await services.members.follow("o_fb", "evt:fb")).member_id
    await services.service_desk.suggest(member_id, "停车场的指引再清楚些", "m1")
    clock.advance(minutes=5)
    await RedisSurveyStore(redis, services.scripts).record(member_id, Asked("T-1", "S01", clock.now()), 2,
                                                           "收银台排队太久", clock.now())
    await log_in(bot, "mia@mall.test")
    assert (await bot.get("/console/inbox")).status == 403
    await log_out(bot, "/console/campaigns")

    csrf = await log_in(bot, "sam@mall.test", landing="/console/inbox")
    page = await (await bot.get("/console/inbox?store=S01")).text()
    assert page.index("收银台排队太久") < page.index("停车场的指引")                # newest first
    assert f'href="/console/members/{member_id}"' in page and "average 2.0" in page
    ref = re.search(r'data-ref="(suggestion:[0-9-]+)"', page).group(1)

    assert (await bot.post("/console/inbox/handled", data={"ref": ref, "reason": "已转物业"})).status == 403
    no_reason = await bot.post("/console/inbox/handled", data={"csrf": csrf, "ref": ref, "reason": " "})
    assert no_reason.status == 422 and await redis.hlen(keys.FEEDBACK_HANDLED) == 0
    handled = await bot.post("/console/inbox/handled", data={"csrf": csrf, "ref": ref, "reason": "已转物业"})
    assert "marked handled" in await handled.text()
    twice = await bot.post("/console/inbox/handled", data={"csrf": csrf, "ref": ref, "reason": "again"})
    assert "handled already by sam@mall.test" in await twice.text()
    assert (await services.service_desk.handled([ref]))[ref].reason == "已转物业"
    assert [(e.action, e.reason) for e in await services.console.audit_log()][0] == ("feedback.handled", "已转物业")
    still_open = await (await bot.get("/console/inbox?store=S01&open=1")).text()
    assert "收银台排队太久" in still_open and "停车场的指引" not in still_open
    forged = await bot.post("/console/inbox/handled", data={"csrf": csrf, "ref": "points:1", "reason": "x"})
    assert forged.status == 422


@pytest.mark.parametrize(("role", "shown"), [
    ("admin", {"catalogue", "communities", "events", "inbox"}), ("marketer", {"catalogue"}),
    ("community_manager", {"communities", "events"}), ("service_staff", {"inbox"})])
async def test_each_role_sees_in_the_navigation_the_new_pages_it_may_open(mall, role, shown):
    bot, _ = mall
    await add_user(bot, f"{role}@mall.test", role)
    await log_in(bot, f"{role}@mall.test")
    html = await (await bot.get("/console/members")).text()
    nav = html.split("<nav>")[1].split("</nav>")[0]
    assert {page for page in ("catalogue", "communities", "events", "inbox") if f'href="/console/{page}"' in nav} == shown
