"""The console's foundation over HTTP: login, sessions, CSRF on every form, roles on every route, the audit log,
and the users an admin manages."""
from __future__ import annotations

import subprocess
import sys

import pytest
from aiohttp import web

from bot.app_keys import SERVICES
from loyalty_core import keys
from loyalty_core.console_access import Permission
from tests.console_client import PASSWORD, add_user, csrf_of, log_in


@pytest.fixture
async def bot(redis, start_bot):
    client = await start_bot()
    await add_user(client, "boss@mall.test", "admin")
    return client


async def test_a_page_without_a_session_sends_to_the_login_and_back(bot):
    answer = await bot.get("/console/users", allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] == "/console/login?next=/console/users"


async def test_an_admin_logs_in_sees_the_users_and_logs_out(bot):
    form = await bot.get("/console/login")
    answer = await bot.post("/console/login", data={"email": "boss@mall.test", "password": PASSWORD,
                                                    "csrf": csrf_of(await form.text())}, allow_redirects=False)
    assert answer.status == 303
    [set_cookie] = [value for value in answer.headers.getall("Set-Cookie") if value.startswith("console_session=")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=43200"} <= {
        part.strip() for part in set_cookie.split(";")}
    page = await bot.get("/console/users")
    assert page.status == 200 and "boss@mall.test" in await page.text()
    csrf = csrf_of(await page.text())
    cookie = bot.session.cookie_jar.filter_cookies(bot.make_url("/console/"))["console_session"]

    out = await bot.post("/console/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    bot.session.cookie_jar.update_cookies({"console_session": cookie.value}, bot.make_url("/console/"))
    again = await bot.get("/console/users", allow_redirects=False)
    assert again.status == 303                      # the session is gone from Redis, not only from the browser
    actions = [entry.action for entry in await bot.app[SERVICES].console.audit_log()]
    assert actions[:3] == ["logout", "login", "user.add"]


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(bot):
    form = await bot.get("/console/login")
    answer = await bot.post("/console/login", data={"email": "boss@mall.test", "password": "not the password",
                                                    "csrf": csrf_of(await form.text())})
    assert answer.status == 401
    assert "the email or the password is wrong" in await answer.text()
    assert "console_session" not in bot.session.cookie_jar.filter_cookies(bot.make_url("/console/"))


async def test_a_login_form_without_its_token_is_403(bot):
    answer = await bot.post("/console/login", data={"email": "boss@mall.test", "password": PASSWORD})
    assert answer.status == 403


async def test_a_form_posted_without_its_csrf_token_is_403_and_changes_nothing(bot, redis):
    csrf = await log_in(bot, "boss@mall.test")
    before = await redis.zcard(keys.CONSOLE_USERS), await redis.xlen(keys.CONSOLE_AUDIT)
    form = {"email": "new@mall.test", "role": "marketer", "password": "a long enough secret"}
    for token in ({}, {"csrf": "forged" + csrf[6:]}):
        answer = await bot.post("/console/users", data={**form, **token})
        assert answer.status == 403
        assert "security token" in await answer.text()
    assert (await redis.zcard(keys.CONSOLE_USERS), await redis.xlen(keys.CONSOLE_AUDIT)) == before
    assert await redis.exists(keys.console_user("new@mall.test")) == 0

    added = await bot.post("/console/users", data={**form, "csrf": csrf})
    assert added.status == 200 and "added new@mall.test" in await added.text()


async def test_a_marketer_opening_an_admin_page_gets_403(bot):
    await add_user(bot, "mia@mall.test", "marketer")
    await log_in(bot, "mia@mall.test")
    for path in ("/console/users", "/console/audit"):
        answer = await bot.get(path)
        assert answer.status == 403, path
        assert "may not open this page" in await answer.text()
    nav = await (await bot.get("/console/dashboard")).text()
    assert "/console/users" not in nav


async def test_an_admin_adds_and_disables_a_user_whose_session_then_stops(bot, start_bot):
    csrf = await log_in(bot, "boss@mall.test")
    await bot.post("/console/users", data={"email": "Sam@Mall.test", "role": "service_staff",
                                           "password": "counter desk 42", "csrf": csrf})
    staff = await start_bot()
    await log_in(staff, "sam@mall.test", "counter desk 42")

    no_reason = await bot.post("/console/users/sam@mall.test/disabled", data={"disabled": "1", "csrf": csrf})
    assert no_reason.status == 422 and "needs a reason" in await no_reason.text()
    await bot.post("/console/users/sam@mall.test/disabled",
                   data={"disabled": "1", "reason": "left the company", "csrf": csrf})
    assert (await staff.get("/console/members", allow_redirects=False)).status == 303

    [entry, *_] = await bot.app[SERVICES].console.audit_log()
    assert (entry.who, entry.action, entry.target, entry.reason) == (
        "boss@mall.test", "user.disable", "sam@mall.test", "left the company")
    audit = await (await bot.get("/console/audit")).text()
    assert "left the company" in audit


async def test_a_weak_password_or_a_taken_email_is_refused_with_the_reason(bot):
    csrf = await log_in(bot, "boss@mall.test")
    weak = await bot.post("/console/users", data={"email": "a@mall.test", "role": "marketer", "password": "short",
                                                  "csrf": csrf})
    assert weak.status == 422 and "at least 12 characters" in await weak.text()
    taken = await bot.post("/console/users", data={"email": "boss@mall.test", "role": "marketer",
                                                   "password": "another long secret", "csrf": csrf})
    assert taken.status == 409


async def test_every_console_route_names_a_permission_or_is_public(bot):
    console = next(app for app in bot.app._subapps if app.router.named_resources().get("login"))
    for route in console.router.routes():
        if isinstance(route.resource, web.StaticResource):
            continue
        handler = route.handler
        assert getattr(handler, "console_public", False) or isinstance(
            getattr(handler, "console_permission", None), Permission), route


def test_add_user_from_the_shell_reads_the_password_from_stdin(redis_url, redis):
    command = [sys.executable, "-m", "bot", "console", "add-user", "ops@mall.test", "--role", "marketer"]
    env = {"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}
    made = subprocess.run(command, input="a long enough secret\n", capture_output=True, text=True, env=env,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "added ops@mall.test (marketer)"
    again = subprocess.run(command, input="a long enough secret\n", capture_output=True, text=True, env=env,
                           timeout=60)
    assert again.returncode == 1 and "exists" in again.stderr


async def test_a_session_ends_12_hours_after_the_login_however_busy(bot, clock):
    await log_in(bot, "boss@mall.test")
    clock.advance(hours=11, minutes=59)
    assert (await bot.get("/console/users", allow_redirects=False)).status == 200
    clock.advance(minutes=2)
    assert (await bot.get("/console/users", allow_redirects=False)).status == 303


async def test_the_cookies_are_secure_when_the_console_is_reached_by_its_public_name(bot):
    answer = await bot.get("/console/login", headers={"Host": "console.mall.example"})
    [cookie] = answer.headers.getall("Set-Cookie")
    assert "Secure" in [part.strip() for part in cookie.split(";")]
    local = await bot.get("/console/login")
    assert "Secure" not in [part.strip() for part in local.headers["Set-Cookie"].split(";")]


async def test_a_login_may_not_send_the_browser_to_another_site(bot):
    form = await bot.get("/console/login")
    answer = await bot.post("/console/login", data={"email": "boss@mall.test", "password": PASSWORD,
                                                    "csrf": csrf_of(await form.text()),
                                                    "next": "//evil.example/console"}, allow_redirects=False)
    assert answer.headers["Location"] == "/console/"


async def test_ten_failed_logins_lock_the_address_for_a_while_even_for_the_right_password(bot, redis):
    async def attempt(password: str) -> int:
        form = await bot.get("/console/login")
        answer = await bot.post("/console/login", data={"email": "Boss@mall.test", "password": password,
                                                        "csrf": csrf_of(await form.text())}, allow_redirects=False)
        return answer.status

    assert [await attempt(f"guess number {i}") for i in range(10)] == [401] * 10
    assert await attempt(PASSWORD) == 429
    [key] = [k async for k in redis.scan_iter(match="cs:{console}:login-failures:*")]
    assert 0 < await redis.ttl(key) <= 15 * 60
    await redis.delete(key)                          # the window has passed
    assert await attempt(PASSWORD) == 303
