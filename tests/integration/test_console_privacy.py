"""A member's data rights in the console: service staff and admins download the member's data as JSON; only an
admin erases it, with a reason and a confirmation; a form without the session's CSRF token changes nothing;
both are in the audit log."""
from __future__ import annotations

import orjson
import pytest

from bot.app_keys import SERVICES
from loyalty_core import keys
from tests.console_client import add_user, log_in
from tests.integration.test_till_api import bind_phone
from tests.integration.till import Till

PHONE = "13700137000"


@pytest.fixture
async def mall(redis, start_bot, clock):
    bot = await start_bot()
    services = bot.app[SERVICES]
    member_id = (await services.members.follow("o_console_privacy", "evt:privacy")).member_id
    await bind_phone(Till(bot, clock), member_id, PHONE)
    for email, role in (("boss@mall.test", "admin"), ("desk@mall.test", "service_staff"),
                        ("ads@mall.test", "marketer")):
        await add_user(bot, email, role)
    return bot, services, member_id


async def test_service_staff_download_the_members_data_and_a_marketer_may_not(mall, redis):
    bot, services, member_id = mall
    csrf = await log_in(bot, "desk@mall.test")
    page = await (await bot.get(f"/console/members/{member_id}")).text()
    assert 'id="export-member"' in page and 'id="ask-erase"' not in page       # staff export, never erase
    download = await bot.post(f"/console/members/{member_id}/export", data={"csrf": csrf})
    assert download.status == 200 and "attachment" in download.headers["Content-Disposition"]
    document = orjson.loads(await download.read())
    assert document["member_id"] == member_id and document["profile"]["phone"] == PHONE
    assert (await bot.post(f"/console/members/{member_id}/export", data={})).status == 403     # no CSRF token
    audit = await services.console.audit_log()
    assert [(e.who, e.action, e.target) for e in audit if e.action == "member.export"] == [
        ("desk@mall.test", "member.export", member_id)]
    csrf = await log_in(bot, "ads@mall.test")
    assert (await bot.post(f"/console/members/{member_id}/export", data={"csrf": csrf})).status == 403


async def test_only_an_admin_erases_with_a_reason_and_a_confirmation(mall, redis):
    bot, services, member_id = mall
    csrf = await log_in(bot, "desk@mall.test")
    refused = await bot.post(f"/console/members/{member_id}/erase",
                             data={"csrf": csrf, "reason": "asked", "confirm": "erase"})
    assert refused.status == 403
    csrf = await log_in(bot, "ads@mall.test")
    assert (await bot.post(f"/console/members/{member_id}/erase",
                           data={"csrf": csrf, "reason": "asked", "confirm": "erase"})).status == 403
    csrf = await log_in(bot, "boss@mall.test")
    assert (await bot.post(f"/console/members/{member_id}/erase",
                           data={"reason": "asked", "confirm": "erase"})).status == 403            # no CSRF token
    no_reason = await bot.post(f"/console/members/{member_id}/erase", data={"csrf": csrf, "reason": " "})
    assert no_reason.status == 422
    asked = await bot.post(f"/console/members/{member_id}/erase", data={"csrf": csrf, "reason": "member's request"})
    assert asked.status == 200 and 'id="confirm-erase"' in await asked.text()
    assert await redis.get(keys.openid_index("o_console_privacy")) == member_id         # not yet: only asked
    confirmed = await bot.post(f"/console/members/{member_id}/erase", allow_redirects=False,
                               data={"csrf": csrf, "reason": "member's request", "confirm": "erase"})
    assert confirmed.status == 303
    page = await (await bot.get(confirmed.headers["Location"])).text()
    assert 'id="erased"' in page and "o_console_privacy" not in page
    assert await redis.get(keys.openid_index("o_console_privacy")) is None
    assert (await redis.hget(keys.member_profile(member_id), "erase_reason")) == "member's request"
    entry = next(e for e in await services.console.audit_log() if e.action == "member.erase")
    assert (entry.who, entry.target, entry.reason) == ("boss@mall.test", member_id, "member's request")
