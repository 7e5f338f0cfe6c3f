"""同意: the member agrees to the privacy notice (binding a phone needs it); 我的数据: what is kept about the
member, and how to get a copy or have it erased."""
from __future__ import annotations

from ..context import Ctx
from ..router import Router

router = Router("privacy")


@router.text("同意", "agree")
async def agree(ctx: Ctx):
    first = await ctx.services.members.consent_to_privacy(ctx.member)
    return ctx.render("privacy_agreed.txt", first=first)


@router.text("我的数据", "隐私", "privacy", help="我们保存了您哪些信息，如何获取副本或删除")
async def my_data(ctx: Ctx):
    await ctx.services.members.privacy_notice_shown(ctx.member)
    return ctx.render("my_data.txt")
