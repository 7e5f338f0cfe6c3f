"""确认 / 取消: the one confirm-and-cancel flow every feature shares (see loyalty_core/pending.py).

A feature asks the member to confirm by storing a pending choice of its own kind
(`ctx.services.pending.offer(member_id, "birthday", payload, summary)`, or a core service doing so),
and registers what confirming does for that kind:

    from .confirm import on_confirm

    @on_confirm("birthday")
    async def confirm_birthday(ctx: Ctx, choice: PendingChoice) -> Reply:
        status = await ctx.services.birthdays.confirm(ctx.member, choice.payload["sealed"], choice.choice_id)
        return ctx.render("birthday_saved.txt", status=status)

The handler must be idempotent by `choice.choice_id` (a double-tapped 确认 calls it again). 确认 claims
the choice before the handler runs; when it returns, the choice is settled; when it raises a domain
error, the choice is dropped and the error's reply shown. 确认 after the window says the offer lapsed;
取消 forgets a choice not yet claimed, and otherwise says it is being carried out. Registering a kind
twice raises at import, like a second claim of a keyword.
"""
from __future__ import annotations

from typing import Awaitable, Callable

from loyalty_core.errors import DomainError, NothingToConfirm
from loyalty_core.pending import PendingChoice

from ..context import Ctx
from ..replies import Reply
from ..router import DuplicateClaim, Router

ConfirmHandler = Callable[[Ctx, PendingChoice], Awaitable[Reply]]
CONFIRM_HANDLERS: dict[str, ConfirmHandler] = {}
router = Router("confirm")


def on_confirm(kind: str):
    """Register what 确认 does for pending choices of this kind."""
    def register(handler: ConfirmHandler) -> ConfirmHandler:
        if kind in CONFIRM_HANDLERS:
            raise DuplicateClaim(f"confirm kind {kind!r} registered twice")
        CONFIRM_HANDLERS[kind] = handler
        return handler
    return register


@router.text("确认", "确定", "confirm", "yes", help="确认刚才的操作（如兑换），2 分钟内有效")
async def confirm(ctx: Ctx):
    choice = await ctx.services.pending.to_confirm(ctx.member)
    handler = CONFIRM_HANDLERS.get(choice.kind)
    if handler is None:     # a kind whose feature is not part of this router
        raise NothingToConfirm()
    try:
        reply = await handler(ctx, choice)
    except DomainError:
        await ctx.services.pending.drop(ctx.member, choice)
        raise
    await ctx.services.pending.settle(ctx.member, choice)
    return reply


@router.text("取消", "cancel", help="取消刚才待确认的操作")
async def cancel(ctx: Ctx):
    choice = await ctx.services.pending.cancel(ctx.member)
    return ctx.render("choice_cancelled.txt", choice=choice)
