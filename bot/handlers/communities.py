"""社群 / 加入 / 退出 / 我的社群: the interest communities, joined and left in chat."""
from __future__ import annotations

from ..context import Ctx
from ..router import Router

router = Router("communities")


@router.text("社群", "communities", help="兴趣社群列表，发送「加入 编号」加入", featured=True)
@router.menu("COMMUNITIES")
async def list_communities(ctx: Ctx):
    communities = await ctx.services.communities.listing()
    mine = {c.community_id for c in await ctx.services.communities.of_member(ctx.member)}
    return ctx.render("communities.txt", communities=communities, mine=mine)


@router.text("加入", "join", help="加入一个社群，例如：加入 1 或 加入 瑜伽社", example="加入 编号")
async def join_community(ctx: Ctx):
    if not ctx.args:
        return await list_communities(ctx)
    membership = await ctx.services.communities.join(ctx.member, ctx.args)
    return ctx.render("community_joined.txt", membership=membership)


@router.text("退出", "leave", help="退出一个社群，例如：退出 瑜伽社", example="退出 社群名")
async def leave_community(ctx: Ctx):
    if not ctx.args:
        return await my_communities(ctx)
    membership = await ctx.services.communities.leave(ctx.member, ctx.args)
    return ctx.render("community_left.txt", membership=membership)


@router.text("我的社群", "my communities", help="我加入的社群")
async def my_communities(ctx: Ctx):
    communities = ctx.services.communities
    return ctx.render("my_communities.txt", communities=await communities.of_member(ctx.member),
                      managed=await communities.managed_by(ctx.openid))
