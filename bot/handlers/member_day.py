"""抽奖 · 退订 / 订阅: the member-day lottery, and the monthly statement turned off and on."""
from __future__ import annotations

from ..context import Ctx
from ..router import Router

router = Router("member_day")


@router.text("抽奖", "会员日抽奖", "lottery", help="会员日抽奖：每个会员日可抽一次")
@router.menu("MEMBER_DAY_DRAW")
async def member_day_draw(ctx: Ctx):
    drawn = await ctx.services.lottery.draw(ctx.member)
    return ctx.render("member_day_draw.txt", draw=drawn)


@router.text("退订", "退订账单", help="不再接收月度会员账单（发送「订阅」恢复）")
async def statement_off(ctx: Ctx):
    changed = await ctx.services.statements.turn_off(ctx.member)
    return ctx.render("statement_off.txt", changed=changed)


@router.text("订阅", "订阅账单", help="接收月度会员账单")
async def statement_on(ctx: Ctx):
    changed = await ctx.services.statements.turn_on(ctx.member)
    return ctx.render("statement_on.txt", changed=changed)
