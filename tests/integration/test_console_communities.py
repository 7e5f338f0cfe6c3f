"""The console's communities and broadcasts over HTTP, with the bot and the sandbox wired together: only a community
manager or an admin opens them, a form without its CSRF token changes nothing, a community made here is a WeChat
tag, and a linked manager's broadcast goes through the planner's preview and 确认 of the broadcast service — once,
however often it is confirmed; a manager sees only the communities they manage."""
from __future__ import annotations

import re

import pytest

from bot.app_keys import SERVICES
from bot.events import broadcast_consumer
from loyalty_core import keys
from tests.console_client import add_user, csrf_of, log_in
from tests.fixtures_push import align_clock


@pytest.fixture
async def mall(start_wired, clock, redis):
    wired = await start_wired()
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    for email, role in (("boss@mall.test", "admin"), ("cara@mall.test", "community_manager"),
                        ("mia@mall.test", "marketer")):
        await add_user(wired.bot, email, role)
    return wired, wired.bot.app[SERVICES]


async def create_yoga(bot, csrf: str):
    return await bot.post("/console/communities", data={"csrf": csrf, "community_id": "yoga", "name": "瑜伽社",
                                                        "description": "每周六早晨"})


async def test_who_may_open_the_communities_and_a_form_without_its_token_changes_nothing(mall, redis):
    wired, services = mall
    bot = wired.bot
    await log_in(bot, "mia@mall.test")
    assert (await bot.get("/console/communities")).status == 403
    await bot.post("/console/logout", data={"csrf": csrf_of(await (await bot.get("/console/members")).text())})

    csrf = await log_in(bot, "cara@mall.test", landing="/console/communities")
    page = await (await bot.get("/console/communities")).text()
    assert 'id="not-linked"' in page and "no communities yet" in page
    refused = await create_yoga(bot, csrf)                         # not linked: no manager to make it for
    assert refused.status == 403 and "users page" in await refused.text()
    await bot.post("/console/logout", data={"csrf": csrf})

    csrf = await log_in(bot, "boss@mall.test", landing="/console/communities")
    assert (await create_yoga(bot, "")).status == 403
    assert await redis.hlen(keys.COMMUNITIES) == 0
    created = await create_yoga(bot, csrf)
    assert created.url.path == "/console/communities/yoga" and "created 瑜伽社" in await created.text()
    community = await services.communities.community("yoga")
    assert wired.sandbox.state.account.tags[community.tag_id].name == "瑜伽社"
    bad = await bot.post("/console/communities", data={"csrf": csrf, "community_id": "x y", "name": "品酒会"})
    assert bad.status == 422 and "community_id" in await bad.text()
    assert (await services.console.audit_log())[0].action == "community.create"


async def test_a_linked_manager_previews_the_planners_plan_and_confirms_once(mall, redis, clock):
    wired, services = mall
    bot = wired.bot
    await services.communities.create("yoga", "瑜伽社", "")
    await services.communities.create("wine", "品酒会", "")
    manager_openid = await wired.join("社群管理员")
    manager = await services.members.member_id_for_openid(manager_openid)
    for n in range(3):
        member_id = await services.members.member_id_for_openid(await wired.join(f"成员{n}"))
        await services.communities.join(member_id, "瑜伽社")

    csrf = await log_in(bot, "boss@mall.test", landing="/console/users")
    linked = await bot.post("/console/users/cara@mall.test/member",
                            data={"csrf": csrf, "by": "member_id", "q": manager, "reason": "runs the yoga club"})
    assert f"is {manager}" in await linked.text()
    unexplained = await bot.post("/console/communities/yoga/managers",
                                 data={"csrf": csrf, "by": "member_id", "q": manager, "reason": ""})
    assert unexplained.status == 422 and not await services.communities.is_manager("yoga", manager_openid)
    added = await bot.post("/console/communities/yoga/managers",
                           data={"csrf": csrf, "by": "member_id", "q": manager, "reason": "runs the yoga club"})
    assert "manages it now" in await added.text()
    await bot.post("/console/logout", data={"csrf": csrf})

    csrf = await log_in(bot, "cara@mall.test", landing="/console/communities")
    listed = await (await bot.get("/console/communities")).text()
    assert "/console/communities/yoga" in listed and "/console/communities/wine" not in listed
    assert (await bot.get("/console/communities/wine")).status == 404
    empty = await bot.post("/console/communities/yoga/broadcasts/preview", data={"csrf": csrf, "text": " "})
    assert empty.status == 422 and 'class="error"' in await empty.text()

    preview = await bot.post("/console/communities/yoga/broadcasts/preview",
                             data={"csrf": csrf, "text": "本周六早上8点中庭集合"})
    html = await preview.text()
    assert preview.status == 200 and re.search(r'id="plan-members">3<', html)
    broadcast_id = re.search(r'name="broadcast_id" value="(b[0-9a-f]+)"', html).group(1)
    assert await redis.exists(keys.broadcast(broadcast_id)) == 0                      # a preview sends nothing

    assert (await bot.post("/console/communities/yoga/broadcasts/confirm",
                           data={"broadcast_id": broadcast_id})).status == 403
    confirmed = await bot.post("/console/communities/yoga/broadcasts/confirm",
                               data={"csrf": csrf, "broadcast_id": broadcast_id})
    assert confirmed.url.path == f"/console/broadcasts/{broadcast_id}"
    assert "confirmed for 3 members" in await confirmed.text()
    again = await bot.post("/console/communities/yoga/broadcasts/confirm",
                           data={"csrf": csrf, "broadcast_id": broadcast_id})
    assert again.url.path == f"/console/broadcasts/{broadcast_id}"
    assert await services.broadcasts.sent_today(manager) == 1
    other = await bot.post("/console/communities/yoga/broadcasts/confirm", data={"csrf": csrf, "broadcast_id": "b0"})
    assert other.status == 404
    pending = await bot.post("/console/communities/yoga/broadcasts/preview", data={"csrf": csrf, "text": "再会"})
    pending_id = re.search(r'name="broadcast_id" value="(b[0-9a-f]+)"', await pending.text()).group(1)
    stale = await bot.post("/console/communities/yoga/broadcasts/confirm",
                           data={"csrf": csrf, "broadcast_id": broadcast_id})     # an older tab's
    assert stale.status == 404
    assert (await services.pending.current(manager)).payload["broadcast_id"] == pending_id   # still waiting

    await broadcast_consumer(services, "t").drain()
    report = await (await bot.get(f"/console/broadcasts/{broadcast_id}")).text()
    assert re.search(r'id="status">sent<', report)
    community_page = await (await bot.get("/console/communities/yoga")).text()
    assert f"/console/broadcasts/{broadcast_id}" in community_page
    audit = [(e.who, e.action, e.target) for e in await services.console.audit_log()]
    assert ("cara@mall.test", "broadcast.confirm", broadcast_id) in audit
    assert ("boss@mall.test", "user.link", "cara@mall.test") in audit
    assert ("boss@mall.test", "community.manager_add", "yoga") in audit
