"""/console/login (email and password), /console/logout, and /console itself (the first page the role may open)."""
from __future__ import annotations

import logging

from aiohttp import web

from loyalty_core import errors
from loyalty_core.console_access import csrf_matches, may, new_token

from ..app_keys import SERVICES
from .guard import LOGIN_CSRF_COOKIE, SESSION_COOKIE, public, session_of, set_cookie
from .render import NAVIGATION, page

log = logging.getLogger("bot.console")
routes = web.RouteTableDef()
LOGIN_FORM_SECONDS = 3600


@routes.get("/login", name="login")
@public
async def login_form(request: web.Request) -> web.Response:
    return login_page(request, error="")


def login_page(request: web.Request, *, error: str, status: int = 200, email: str = "") -> web.Response:
    """The form carries a token that must equal the one in a cookie set with it (a login made from another site's
    page cannot know it)."""
    token = new_token()
    response = page(request, "login.html", status=status, error=error, login_csrf=token, email=email,
                    next=safe_next(request.query.get("next", "")))
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, LOGIN_FORM_SECONDS)
    return response


@routes.post("/login")
@public
async def log_in(request: web.Request) -> web.Response:
    form = await request.post()
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE), _text(form.get("csrf"))):
        raise web.HTTPForbidden(text="the form's security token is missing or wrong: reload the page and try again")
    email = _text(form.get("email"))
    try:
        session_id, _ = await request.config_dict[SERVICES].console.log_in(email, _text(form.get("password")))
    except (errors.LoginFailed, errors.LoginThrottled) as failed:
        log.info("console login refused: %s", failed.code)
        return login_page(request, error=failed.text, status=failed.http_status, email=email)
    response = web.HTTPSeeOther(safe_next(_text(form.get("next"))) or request.app.router["home"].url_for())
    set_cookie(request, response, SESSION_COOKIE, session_id, request.config_dict[SERVICES].console.max_seconds)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console")
    raise response


@routes.post("/logout", name="logout")
@public
async def log_out(request: web.Request) -> web.Response:
    """Public so that an expired session can still press it; with a live session the CSRF token must match."""
    services = request.config_dict[SERVICES]
    session_id = request.cookies.get(SESSION_COOKIE, "")
    session = await services.console.session(session_id)
    if session is not None:
        form = await request.post()
        if not csrf_matches(session.csrf, _text(form.get("csrf"))):
            raise web.HTTPForbidden(text="the form's security token is missing or wrong")
        await services.console.log_out(session_id, session.email)
    response = web.HTTPSeeOther(request.app.router["login"].url_for())
    response.del_cookie(SESSION_COOKIE, path="/console")
    raise response


@routes.get("/", name="home")
@public
async def home(request: web.Request) -> web.Response:
    session = await request.config_dict[SERVICES].console.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise web.HTTPSeeOther(request.app.router["login"].url_for())
    for name, _, permission in NAVIGATION:
        if may(session.role, permission) and name in request.app.router.named_resources():
            raise web.HTTPSeeOther(request.app.router[name].url_for())
    raise web.HTTPForbidden(text="your role has no page in the console")


def safe_next(target: str) -> str:
    """Only a console path: never another site (an open redirect)."""
    if target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


def _text(value) -> str:
    return value if isinstance(value, str) else ""


__all__ = ["routes", "session_of"]
