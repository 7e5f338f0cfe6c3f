from __future__ import annotations

from loyalty_core.members import FollowResult

from ..context import Ctx
from ..replies import Text
from ..router import Router

router = Router("membership")


@router.event("subscribe")
async def on_follow(ctx: Ctx):
    ctx.follow = await ctx.services.members.follow(ctx.openid, ctx.message.delivery_key)
    ctx.member_id = ctx.follow.member_id
    return await welcome(ctx, ctx.follow)


@router.joined
async def on_first_message(ctx: Ctx):
    return await welcome(ctx, ctx.joined)


async def welcome(ctx: Ctx, follow: FollowResult) -> Text:
    gift = await ctx.services.welcome.gift_for(follow)
    await ctx.services.members.privacy_notice_shown(follow.member_id)     # the welcome carries the notice
    return ctx.render("welcome.txt", restored=follow.restored, gift=gift, commands=ctx.commands)


@router.event("unsubscribe")
async def on_unfollow(ctx: Ctx):
    await ctx.services.members.unfollow(ctx.openid, ctx.message.delivery_key)
    return None
