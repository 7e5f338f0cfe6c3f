"""/console/communities: the communities with their member counts and managers, create one, add a manager; a
community's page with its broadcasts (how each went, as GET /api/v1/admin/broadcasts/{id} reports it); compose a
broadcast, read the planner's plan and the day's allowance, then confirm — the chat's 广播 and 确认, through the
same broadcast service and the same pending choice.

A broadcast is a manager's: the core knows a community's managers as WeChat followers, so the console user must be
linked to theirs (the users page). An admin sees every community; anyone else only those they manage."""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors
from loyalty_core.broadcasts import BROADCAST_KIND
from loyalty_core.console import checked_reason
from loyalty_core.console_access import Permission

from ..app_keys import SERVICES
from .acting import KIND_NAMES, MEMBER_KINDS, Follower, acting_follower, member_named
from .forms import form_text
from .guard import needs, session_of
from .render import page

routes = web.RouteTableDef()
NOT_LINKED = ("your console user is not linked to your WeChat follower, whom the community knows as its manager: "
              "an admin links it on the users page")


@routes.get("/communities", name="communities")
@needs(Permission.COMMUNITIES)
async def list_communities(request: web.Request) -> web.Response:
    return await communities_page(request)


async def communities_page(request: web.Request, *, error: str = "", status: int = 200, form=None):
    services, follower = request.config_dict[SERVICES], await acting_follower(request)
    if sees_all(request):
        views = [await services.communities.view(c.community_id) for c in await services.communities.listing()]
    else:
        views = await services.communities.managed_by(follower.openid) if follower else []
    return page(request, "communities.html", status=status, error=error, views=views, linked=follower is not None,
                managers={view.community.community_id: await manager_ids(request, view.managers) for view in views},
                form=form or {})


@routes.post("/communities", name="create_community")
@needs(Permission.COMMUNITIES)
async def create_community(request: web.Request) -> web.Response:
    """A new community (its WeChat tag first); a linked user becomes its first manager."""
    services, form = request.config_dict[SERVICES], await request.post()
    follower = await acting_follower(request)
    try:
        if follower is None and not sees_all(request):
            raise errors.NotAManager(NOT_LINKED)
        community = await services.communities.create(form_text(form, "community_id"), form_text(form, "name"),
                                                      form_text(form, "description"))
        if follower is not None:
            await services.communities.add_manager(community.community_id, follower.openid)
    except errors.DomainError as refused:
        return await communities_page(request, error=refused.text, status=refused.http_status, form=form)
    await services.console.record(session_of(request).email, "community.create", community.community_id,
                                  detail=f"name={community.name} tag={community.tag_id}")
    raise web.HTTPSeeOther(request.app.router["community"].url_for(community_id=community.community_id)
                           .with_query(done=f"created {community.name}"))


@routes.get("/communities/{community_id}", name="community")
@needs(Permission.COMMUNITIES)
async def community_page(request: web.Request) -> web.Response:
    return await show_community(request, request.match_info["community_id"])


async def show_community(request: web.Request, community_id: str, *, error: str = "", status: int = 200,
                         form=None) -> web.Response:
    services = request.config_dict[SERVICES]
    view, follower = await visible(request, community_id)
    may_broadcast = follower is not None and follower.openid in view.managers
    rules = services.broadcasts.rules
    return page(request, "community.html", status=status, error=error, view=view, follower=follower,
                managers=await manager_ids(request, view.managers), may_broadcast=may_broadcast,
                reports=await services.broadcasts.of_community(view.community.community_id),
                sent_today=await services.broadcasts.sent_today(follower.member_id) if follower else 0,
                per_day=rules.per_manager_per_day, max_chars=rules.max_chars, kinds=MEMBER_KINDS,
                kind_names=KIND_NAMES, templates=await services.coupons.templates(), form=form or {})


@routes.post("/communities/{community_id}/managers", name="add_manager")
@needs(Permission.COMMUNITIES)
async def add_manager(request: web.Request) -> web.Response:
    services, community_id = request.config_dict[SERVICES], request.match_info["community_id"]
    form = await request.post()
    await visible(request, community_id)
    try:
        reason = checked_reason(form_text(form, "reason"))
        member_id = await member_named(request, form)
        member = await services.members.get(member_id)
        await services.communities.add_manager(community_id, member.openid)
    except errors.DomainError as refused:
        return await show_community(request, community_id, error=refused.text, status=refused.http_status)
    await services.console.record(session_of(request).email, "community.manager_add", community_id, reason,
                                  detail=f"member={member_id}")
    raise done(request, community_id, f"{member_id} manages it now")


@routes.post("/communities/{community_id}/broadcasts/preview", name="preview_broadcast")
@needs(Permission.COMMUNITIES)
async def preview_broadcast(request: web.Request) -> web.Response:
    """The planner's plan for each member now (nothing is sent), offered to confirm as 广播 offers it in chat."""
    services, community_id = request.config_dict[SERVICES], request.match_info["community_id"]
    form = await request.post()
    view, follower = await visible(request, community_id)
    try:
        if follower is None:
            raise errors.NotAManager(NOT_LINKED)
        draft = await services.broadcasts.draft(follower.member_id, follower.openid, view.community,
                                                form_text(form, "coupon_template") or None, form_text(form, "text"))
    except errors.DomainError as refused:
        return await show_community(request, community_id, error=refused.text, status=refused.http_status,
                                    form=form)
    return page(request, "broadcast_draft.html", draft=draft, community=view.community,
                sent_today=await services.broadcasts.sent_today(follower.member_id),
                per_day=services.broadcasts.rules.per_manager_per_day,
                coupon_line=services.broadcasts.rules.coupon_line.replace("{title}", draft.coupon_title or ""),
                minutes=int(services.pending.window.total_seconds() // 60))


@routes.post("/communities/{community_id}/broadcasts/confirm", name="confirm_broadcast")
@needs(Permission.COMMUNITIES)
async def confirm_broadcast(request: web.Request) -> web.Response:
    """确认: the manager's pending broadcast, if it is the one previewed on this page (else nothing happens)."""
    services, community_id = request.config_dict[SERVICES], request.match_info["community_id"]
    form = await request.post()
    view, follower = await visible(request, community_id)
    broadcast_id = form_text(form, "broadcast_id")

    def previewed_here(choice) -> bool:
        return choice is not None and choice.kind == BROADCAST_KIND and \
            choice.payload.get("broadcast_id") == broadcast_id and \
            choice.payload.get("community_id") == view.community.community_id

    async def confirm(choice):
        if not previewed_here(choice):       # replaced since it was looked at
            raise errors.NothingToConfirm()
        return await services.broadcasts.confirm(follower.member_id, follower.openid, choice.payload)

    try:
        if follower is None:
            raise errors.NotAManager(NOT_LINKED)
        if not previewed_here(await services.pending.current(follower.member_id)):
            raise errors.NothingToConfirm()  # another page's, or none: left as it is
        confirmed = await services.pending.carry_out(follower.member_id, confirm)
    except errors.DomainError as refused:
        return await show_community(request, community_id, error=f"{refused.text} (preview it again)",
                                    status=refused.http_status)
    await services.console.record(session_of(request).email, "broadcast.confirm", confirmed.broadcast_id,
                                  detail=f"community={community_id} members={confirmed.members} "
                                         f"first={confirmed.first}")
    raise web.HTTPSeeOther(request.app.router["broadcast"].url_for(broadcast_id=confirmed.broadcast_id)
                           .with_query(done=f"confirmed for {confirmed.members} members: being sent"))


@routes.get("/broadcasts/{broadcast_id}", name="broadcast")
@needs(Permission.COMMUNITIES)
async def broadcast_page(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    report = await services.broadcasts.staff_report(request.match_info["broadcast_id"])
    facts = await services.broadcasts.facts_of(report.broadcast_id)
    view, _ = await visible(request, facts["community_id"])
    return page(request, "broadcast.html", report=report, community=view.community,
                manager=facts.get("manager_id", ""), coupon_template=facts.get("coupon_template", ""))


# -- who sees what ---------------------------------------------------------------------------------------------
def sees_all(request: web.Request) -> bool:
    return session_of(request).role == "admin"


async def visible(request: web.Request, community_id: str) -> tuple:
    """(the community's view, the user's follower); 404 for a community the user does not manage (an admin
    sees every one)."""
    services = request.config_dict[SERVICES]
    view = await services.communities.view(community_id)
    follower: Follower | None = await acting_follower(request)
    if not sees_all(request) and (follower is None or follower.openid not in view.managers):
        raise errors.UnknownCommunity()
    return view, follower


async def manager_ids(request: web.Request, openids) -> list[str]:
    """The managers as member ids (what the console links to), never their openids."""
    members = request.config_dict[SERVICES].members
    found = [await members.member_id_for_openid(openid) for openid in openids]
    return sorted(member_id for member_id in found if member_id)


def done(request: web.Request, community_id: str, what: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(request.app.router["community"].url_for(community_id=community_id).with_query(done=what))
