"""广播: a community's manager broadcasts to its members from their own WeChat, with the planner's preview first
and 确认 to send (see loyalty_core/broadcasts.py); anyone else is politely refused and nothing is sent."""
from __future__ import annotations

from loyalty_core.broadcasts import BROADCAST_KIND
from loyalty_core.pending import PendingChoice

from ..context import Ctx
from ..router import Router

router = Router("broadcasts")


KEYWORDS = ("广播", "broadcast")


@router.text(*KEYWORDS)
async def broadcast(ctx: Ctx):
    if not ctx.args:
        return ctx.render("broadcast_how.txt")
    draft = await ctx.services.broadcasts.prepare(ctx.member, ctx.openid, as_typed(ctx.message.content, ctx.args))
    return ctx.render("broadcast_preview.txt", draft=draft)


def as_typed(content: str, args: str) -> str:
    """The text after the keyword as the manager wrote it (the router's arguments are normalised: full-width
    punctuation made half-width, which a message to members should keep)."""
    typed = content.strip()
    for keyword in KEYWORDS:
        if typed.casefold().startswith(keyword):
            return typed[len(keyword):].strip()
    return args


@router.confirm(BROADCAST_KIND)
async def confirm_broadcast(ctx: Ctx, choice: PendingChoice):
    confirmed = await ctx.services.broadcasts.confirm(ctx.member, ctx.openid, choice.payload)
    return ctx.render("broadcast_confirmed.txt", confirmed=confirmed)


@router.text("广播记录", "broadcasts sent")
async def broadcast_history(ctx: Ctx):
    return ctx.render("broadcast_history.txt", reports=await ctx.services.broadcasts.history(ctx.member))
