"""/console: the operators' web pages, served by the web process (server-rendered jinja2, a little plain
JavaScript, no build step). Every route names the permission it needs (guard.py); every POST carries the
session's CSRF token; every change is in the audit log.

Pages: login (login.py), users and the audit log (users.py), the dashboard (dashboard.py), members and the
staff's actions (members.py), campaigns (campaigns.py), the catalogue and coupon templates (catalogue.py),
communities and their broadcasts (communities.py), events (events.py), the feedback inbox (inbox.py); a module per
page group, each with a `routes` table.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import campaigns, catalogue, communities, dashboard, events, inbox, login, members, users
from .errors import console_errors
from .guard import console_guard

CONSOLE_PREFIX = "/console"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "console"
CONSOLE_MODULES = (login, users, dashboard, members, campaigns, catalogue, communities, events, inbox)


def setup_console(app: web.Application) -> None:
    console = web.Application(middlewares=[console_errors, console_guard])
    for module in CONSOLE_MODULES:
        console.add_routes(module.routes)
    console.router.add_static("/static", STATIC_DIR, name="static")
    app.add_subapp(CONSOLE_PREFIX, console)
    app.router.add_get(CONSOLE_PREFIX, to_console_home)


async def to_console_home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(f"{CONSOLE_PREFIX}/")
