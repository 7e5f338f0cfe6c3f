"""Who the console user is where the core asks for a member: a user linked to their WeChat follower (the users
page) acts as that member, so the core's own rules about members apply (a community's managers are followers);
and the member a form names, by member code, member id or phone, looked up without using a member code up."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from loyalty_core import errors
from loyalty_core.members import MemberRef

from ..app_keys import SERVICES
from .forms import form_text
from .guard import session_of

MEMBER_KINDS = ("member_code", "member_id", "phone")
KIND_NAMES = {"member_code": "会员码 member code", "member_id": "会员号 member id", "phone": "手机号 phone"}


@dataclass(frozen=True)
class Follower:
    member_id: str
    openid: str


async def acting_follower(request: web.Request) -> Follower | None:
    """The follower the console user is linked to, or None (not linked, or the member is gone)."""
    services = request.config_dict[SERVICES]
    user = await services.console.user(session_of(request).email)
    if not user.member_id:
        return None
    try:
        member = await services.members.get(user.member_id)
    except errors.UnknownMember:
        return None
    return Follower(member.member_id, member.openid)


async def member_named(request: web.Request, form, kinds: tuple[str, ...] = MEMBER_KINDS) -> str:
    """The member id of the member the form's `by` and `q` name; the resolver's errors."""
    kind, query = form_text(form, "by") or kinds[0], form_text(form, "q")
    if kind not in kinds:
        raise errors.InvalidRequest(f"find the member by one of {', '.join(kinds)}")
    if not query:
        raise errors.InvalidRequest("type a member code, a member id or a phone number")
    return await request.config_dict[SERVICES].resolver.peek(MemberRef(kind, query), kinds)
