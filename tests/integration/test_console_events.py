"""The console's events over HTTP: only a community manager or an admin opens them, a form without its CSRF token
changes nothing, an event published here is the event service's (its own checks redisplay the form), sign-ups and
the waitlist show, the invitations are the event's campaign, check-in by member code or member id grants the activity points once, and the feedback's
scores, average and comments show on the event's page."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.app_keys import SERVICES
from bot.events import facts_consumer
from loyalty_core import keys
from tests.console_client import add_user, csrf_of, log_in


@pytest.fixture
async def mall(redis, start_bot):
    bot = await start_bot()
    services = bot.app[SERVICES]
    for email, role in (("cara@mall.test", "community_manager"), ("sam@mall.test", "service_staff")):
        await add_user(bot, email, role)
    members = [(await services.members.follow(f"o_ev_{i}", f"evt:{i}")).member_id for i in range(3)]
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await facts_consumer(services, "t").drain()                    # the members' facts, which segments read
    return bot, services, members


def event_form(csrf: str, **changes) -> dict:
    return {"csrf": csrf, "event_id": "wine-0120", "title": "春季品酒会", "starts_at": "2026-01-20T19:00",
            "ends_at": "2026-01-20T21:00", "signup_deadline": "", "place": "L1 中庭", "capacity": "2",
            "community_id": "", "min_tier": "", "notes": "请携带会员码"} | changes


async def test_only_managers_and_admins_open_events_and_a_form_without_its_token_changes_nothing(mall, redis):
    bot, _, _ = mall
    await log_in(bot, "sam@mall.test")
    assert (await bot.get("/console/events")).status == 403
    await bot.post("/console/logout", data={"csrf": csrf_of(await (await bot.get("/console/members")).text())})
    csrf = await log_in(bot, "cara@mall.test", landing="/console/events")
    assert "nothing upcoming" in await (await bot.get("/console/events")).text()
    assert (await bot.post("/console/events", data=event_form(""))).status == 403
    past = await bot.post("/console/events", data=event_form(csrf, starts_at="2026-01-01T19:00"))
    assert past.status == 422 and "starts_at must be in the future" in await past.text()
    assert 'value="春季品酒会"' in await past.text()                   # the form comes back as typed
    bad = await bot.post("/console/events", data=event_form(csrf, capacity="many"))
    assert bad.status == 422 and "capacity" in await bad.text()
    assert await redis.hlen(keys.EVENTS) == 0


async def test_an_event_published_here_fills_up_checks_members_in_and_shows_its_feedback(mall, redis, clock):
    bot, services, members = mall
    csrf = await log_in(bot, "cara@mall.test", landing="/console/events")
    published = await bot.post("/console/events", data=event_form(csrf))
    assert published.url.path == "/console/events/wine-0120" and "published as 报名 1" in await published.text()
    event = await services.events.event("wine-0120")
    assert event.capacity == 2 and event.place == "L1 中庭"
    for member_id in members:
        await services.events.sign_up(member_id, event.number)
    page = await (await bot.get("/console/events/wine-0120")).text()
    assert re.search(r'id="places">2/2 · 候补 waitlist 1', page)
    assert f"/console/members/{members[2]}" in page.split('id="waitlist"')[1]

    invited = await bot.post("/console/events/wine-0120/invitations", data={"csrf": csrf})
    assert "(event-wine-0120)" in await invited.text()
    assert (await services.campaigns.status("event-wine-0120"))["audience"] == 3
    assert (await bot.post("/console/events/wine-0120/invitations", data={})).status == 403

    code = (await services.member_codes.issue(members[0])).code
    by_code = await bot.post("/console/events/wine-0120/check-ins", data={"csrf": csrf, "by": "member_code", "q": code})
    assert f"{members[0]} checked in (+50 points)" in await by_code.text()
    by_id = await bot.post("/console/events/wine-0120/check-ins",
                           data={"csrf": csrf, "by": "member_id", "q": members[1]})
    assert f"{members[1]} checked in" in await by_id.text()
    again = await bot.post("/console/events/wine-0120/check-ins",
                           data={"csrf": csrf, "by": "member_id", "q": members[1]})
    assert "checked in already" in await again.text()
    waiting = await bot.post("/console/events/wine-0120/check-ins",
                             data={"csrf": csrf, "by": "member_id", "q": members[2]})
    assert waiting.status == 409 and 'class="error"' in await waiting.text()
    assert (await services.points.summary(members[1], clock.now())).balance == 50
    assert await redis.scard(keys.event_checked_in("wine-0120")) == 2

    clock.set(event.ends_at + timedelta(hours=1))
    await services.events.give_feedback(members[0], 5, "酒很好")
    await services.events.give_feedback(members[1], 4, "")
    await log_in(bot, "cara@mall.test")                          # the session lapsed while the clock moved on
    page = await (await bot.get("/console/events/wine-0120")).text()
    assert "2 条 · 平均 average 4.5" in page and "酒很好" in page
    assert "/console/events/wine-0120" in (await (await bot.get("/console/events")).text()).split('id="past"')[1]
    actions = [e.action for e in await services.console.audit_log()]
    assert actions.count("event.check_in") == 3 and {"event.publish", "event.invite"} <= set(actions)
