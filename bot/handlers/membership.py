from __future__ import annotations

from ..context import Ctx
from ..router import Router

router = Router("membership")


@router.event("subscribe")
async def on_follow(ctx: Ctx):
    ctx.follow = await ctx.services.members.follow(ctx.openid, ctx.message.delivery_key)
    ctx.member_id = ctx.follow.member_id
    return ctx.render("welcome.txt", restored=ctx.follow.restored, commands=ctx.commands)


@router.event("unsubscribe")
async def on_unfollow(ctx: Ctx):
    await ctx.services.members.unfollow(ctx.openid, ctx.message.delivery_key)
    return None
