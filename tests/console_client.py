"""Drives the console over HTTP like a browser would: the login form, then pages and forms with their CSRF token."""
from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from bot.app_keys import SERVICES

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def add_user(bot: TestClient, email: str, role: str, password: str = PASSWORD) -> None:
    await bot.app[SERVICES].console.add_user(email, role, password, by="test")


async def log_in(bot: TestClient, email: str, password: str = PASSWORD, landing: str = "") -> str:
    """Logs in; returns the session's CSRF token, read from the page the login lands on (or `landing`)."""
    form = await bot.get("/console/login")
    answer = await bot.post("/console/login", data={"email": email, "password": password,
                                                    "csrf": csrf_of(await form.text()), "next": landing},
                            allow_redirects=False)
    assert answer.status == 303, await answer.text()
    page = await bot.get(answer.headers["Location"])
    assert page.status == 200, await page.text()
    return csrf_of(await page.text())
