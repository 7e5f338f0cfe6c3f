"""/console/users (admin): the console's users; add one, disable or enable one, link one to their WeChat follower
(each with a reason). /console/audit (admin): who changed what, when and why."""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors
from loyalty_core.console import checked_reason
from loyalty_core.console_access import ROLES, Permission

from ..app_keys import SERVICES
from .acting import KIND_NAMES, MEMBER_KINDS, member_named
from .forms import form_text
from .guard import needs, session_of
from .render import page

routes = web.RouteTableDef()


@routes.get("/users", name="users")
@needs(Permission.USERS)
async def list_users(request: web.Request) -> web.Response:
    return await users_page(request)


async def users_page(request: web.Request, *, error: str = "", status: int = 200, form: dict | None = None):
    users = await request.config_dict[SERVICES].console.users()
    return page(request, "users.html", status=status, users=users, roles=list(ROLES), error=error,
                kinds=MEMBER_KINDS, kind_names=KIND_NAMES,
                form=form or {"email": "", "role": "marketer"})


@routes.post("/users", name="add_user")
@needs(Permission.USERS)
async def add_user(request: web.Request) -> web.Response:
    form = await request.post()
    email, role = form_text(form, "email"), form_text(form, "role")
    try:
        await request.config_dict[SERVICES].console.add_user(email, role, form_text(form, "password"),
                                                             by=session_of(request).email)
    except errors.DomainError as refused:
        return await users_page(request, error=refused.text, status=refused.http_status,
                                form={"email": email, "role": role})
    raise web.HTTPSeeOther(request.app.router["users"].url_for().with_query(done=f"added {email.strip().lower()}"))


@routes.post("/users/{email}/disabled", name="user_disabled")
@needs(Permission.USERS)
async def set_disabled(request: web.Request) -> web.Response:
    form = await request.post()
    email, disable = request.match_info["email"], form_text(form, "disabled") == "1"
    try:
        await request.config_dict[SERVICES].console.set_disabled(
            email, disable, by=session_of(request).email, reason=checked_reason(form_text(form, "reason")))
    except errors.DomainError as refused:
        return await users_page(request, error=refused.text, status=refused.http_status)
    done = f"{'disabled' if disable else 'enabled'} {email}"
    raise web.HTTPSeeOther(request.app.router["users"].url_for().with_query(done=done))


@routes.post("/users/{email}/member", name="user_member")
@needs(Permission.USERS)
async def link_member(request: web.Request) -> web.Response:
    """The user is this member (found by member id, member code or phone); an empty member unlinks them."""
    form = await request.post()
    email = request.match_info["email"]
    try:
        reason = checked_reason(form_text(form, "reason"))
        member_id = await member_named(request, form) if form_text(form, "q") else ""
        await request.config_dict[SERVICES].console.link_member(email, member_id, by=session_of(request).email,
                                                                reason=reason)
    except errors.DomainError as refused:
        return await users_page(request, error=refused.text, status=refused.http_status)
    done = f"{email} is {member_id}" if member_id else f"{email} unlinked"
    raise web.HTTPSeeOther(request.app.router["users"].url_for().with_query(done=done))


@routes.get("/audit", name="audit")
@needs(Permission.AUDIT)
async def audit_log(request: web.Request) -> web.Response:
    return page(request, "audit.html", entries=await request.config_dict[SERVICES].console.audit_log())
