"""/api/v1/admin/communities: communities (WeChat tags mirrored in Redis) and their managers.

POST /admin/communities                  {"community_id", "name", "description"}: creates the tag -> 201
POST /admin/communities/{id}/managers    {"openid"}: a follower who may broadcast to the community
GET  /admin/communities/{id}             the community, its members count and its managers' openids
GET  /admin/broadcasts/{id}              a manager's broadcast: planned per channel, pushes by outcome, the
                                         platform's mass-send reports
"""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors

from ..app_keys import SERVICES
from . import fields
from .admin import created
from .auth import MEMBER_SERVICE, PROGRAM, reached_by
from .errors import json_answer

routes = web.RouteTableDef()
COMMUNITY_KEYS = frozenset({"community_id", "name", "description"})


@routes.post("/admin/communities")
@reached_by(PROGRAM)
async def create_community(request: web.Request) -> web.Response:
    data = only(fields.json_object(request), COMMUNITY_KEYS)
    community = await request.config_dict[SERVICES].communities.create(
        data.get("community_id"), data.get("name"), data.get("description", ""))
    return created({"community": community.to_dict()})


@routes.post("/admin/communities/{community_id}/managers")
@reached_by(PROGRAM)
async def add_manager(request: web.Request) -> web.Response:
    data = only(fields.json_object(request), frozenset({"openid"}))
    view = await request.config_dict[SERVICES].communities.add_manager(request.match_info["community_id"],
                                                                       fields.text(data, "openid"))
    return json_answer({"community": view.to_dict()})


@routes.get("/admin/broadcasts/{broadcast_id}")
@reached_by(MEMBER_SERVICE)
async def get_broadcast(request: web.Request) -> web.Response:
    report = await request.config_dict[SERVICES].broadcasts.staff_report(request.match_info["broadcast_id"])
    return json_answer({"broadcast": report.to_dict()})


@routes.get("/admin/communities/{community_id}")
@reached_by(MEMBER_SERVICE)
async def get_community(request: web.Request) -> web.Response:
    view = await request.config_dict[SERVICES].communities.view(request.match_info["community_id"])
    return json_answer({"community": view.to_dict()})


def only(data: dict, allowed: frozenset[str]) -> dict:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise errors.InvalidRequest(f"unknown field {unknown[0][:32]!r} (the fields are {', '.join(sorted(allowed))})")
    return data
