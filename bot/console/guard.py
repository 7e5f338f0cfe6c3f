"""Every console request passes here: the session from its cookie, the permission its route names, and on every
POST the session's CSRF token. A route that names no permission (and is not marked public) is refused: a page
cannot be left open by forgetting to protect it."""
from __future__ import annotations

import ipaddress
import logging
from typing import Awaitable, Callable

from aiohttp import web

from loyalty_core.console import Session
from loyalty_core.console_access import Permission, csrf_matches, may

from ..app_keys import SERVICES

log = logging.getLogger("bot.console")
SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
SESSION = web.RequestKey("console_session", Session)   # the live session of the request
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def needs(permission: Permission) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        handler.console_permission = permission  # type: ignore[attr-defined]
        return handler
    return mark


def public(handler: Handler) -> Handler:
    handler.console_public = True  # type: ignore[attr-defined]
    return handler


def session_of(request: web.Request) -> Session:
    return request[SESSION]


@web.middleware
async def console_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    route_handler = request.match_info.handler
    if getattr(route_handler, "console_public", False) or request.match_info.http_exception is not None \
            or isinstance(request.match_info.route.resource, web.StaticResource):
        return await handler(request)
    session = await request.config_dict[SERVICES].console.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        if request.method == "GET":
            raise web.HTTPSeeOther(request.app.router["login"].url_for().with_query(next=request.path_qs))
        raise web.HTTPForbidden(text="not logged in (or the session has expired)")
    request[SESSION] = session          # set first: a refusal's page still shows the user their navigation
    permission = getattr(route_handler, "console_permission", None)
    if permission is None:
        log.error("console route %s names no permission: refused", request.path)
        raise web.HTTPForbidden(text="forbidden")
    if not may(session.role, permission):
        raise web.HTTPForbidden(text=f"your role ({session.role}) may not open this page")
    if request.method not in ("GET", "HEAD"):
        await check_csrf(request, session.csrf)
    return await handler(request)


async def check_csrf(request: web.Request, expected: str) -> None:
    given = request.headers.get("X-CSRF-Token")
    if given is None:
        given = (await request.post()).get("csrf")
    if not csrf_matches(expected, given if isinstance(given, str) else None):
        log.warning("console %s %s refused: missing or wrong CSRF token", request.method, request.path)
        raise web.HTTPForbidden(text="the form's security token is missing or wrong: reload the page and try again")


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Strict, path /console; Secure unless the console is reached over plain HTTP on this
    machine (a browser drops Secure cookies there)."""
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True, samesite="Strict",
                        secure=request.secure or not on_loopback(request))


def on_loopback(request: web.Request) -> bool:
    host = (request.url.host or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
