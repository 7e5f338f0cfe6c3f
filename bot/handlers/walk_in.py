"""Arrivals through a walk-in receipt's join code (scene `join:<token>`): the sale's points are credited to
the member who scans first; anyone else is told why not."""
from __future__ import annotations

from loyalty_core import errors
from loyalty_core.walk_in import SCENE_PREFIX

from ..context import Ctx
from ..router import Router

router = Router("walk_in")


@router.scene(SCENE_PREFIX)
async def arrived_by_receipt(ctx: Ctx):
    try:
        joined = await ctx.services.walk_ins.join(ctx.member, ctx.args)
    except (errors.AlreadyJoined, errors.JoinExpired, errors.UnknownTransaction) as refused:
        return ctx.render("walk_in_refused.txt", reason=refused.code,
                          join_days=ctx.services.program.till.walk_in_join.days)
    return ctx.render("walk_in_joined.txt", joined=joined)
