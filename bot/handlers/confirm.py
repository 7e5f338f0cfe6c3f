"""确认 / 取消: the one confirm-and-cancel flow every feature shares (loyalty_core/pending.py runs it).

A feature asks the member to confirm by having its core service offer a pending choice of its own kind
(`pending.offer(member_id, "birthday", payload, summary)`), and claims what confirming does for that kind
on its router, beside its keywords:

    @router.confirm(BIRTHDAY_KIND)
    async def confirm_birthday(ctx: Ctx, choice: PendingChoice) -> Reply:
        status = await ctx.services.birthdays.confirm(ctx.member, choice.payload["sealed"], choice.choice_id)
        return ctx.render("birthday_saved.txt", status=status)

The handler must be idempotent by `choice.choice_id` (a double-tapped 确认 calls it again).
"""
from __future__ import annotations

from loyalty_core.errors import NothingToConfirm
from loyalty_core.pending import PendingChoice

from ..context import Ctx
from ..router import Router

router = Router("confirm")


@router.text("确认", "确定", "confirm", "yes", help="确认刚才的操作（如兑换），2 分钟内有效")
async def confirm(ctx: Ctx):
    async def carry_out(choice: PendingChoice):
        handler = ctx.confirmations.get(choice.kind)
        if handler is None:     # a kind whose feature is not part of this router
            raise NothingToConfirm()
        return await handler(ctx, choice)

    return await ctx.services.pending.carry_out(ctx.member, carry_out)


@router.text("取消", "cancel", help="取消刚才待确认的操作")
async def cancel(ctx: Ctx):
    choice = await ctx.services.pending.cancel(ctx.member)
    return ctx.render("choice_cancelled.txt", choice=choice)
