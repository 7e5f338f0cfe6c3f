"""生日 / 农历生日 / 领取生日礼: set the birthday once (with 确认), see it, claim the birthday gift."""
from __future__ import annotations

from loyalty_core.birthday import BIRTHDAY_KIND
from loyalty_core.birthday_calendar import LUNAR, SOLAR
from loyalty_core.pending import PendingChoice

from ..context import Ctx
from ..router import Router

router = Router("birthday")


@router.text("生日", "set birthday", help="设置公历生日，例如：生日 1990-05-20", example="生日 1990-05-20")
@router.menu("MY_BIRTHDAY")
async def solar_birthday(ctx: Ctx):
    return await birthday_or_proposal(ctx, SOLAR)


@router.text("农历生日", "阴历生日", "lunar birthday", help="设置农历生日，闰月写作 1990-闰04-26",
             example="农历生日 1990-04-26")
async def lunar_birthday(ctx: Ctx):
    return await birthday_or_proposal(ctx, LUNAR)


async def birthday_or_proposal(ctx: Ctx, calendar: str):
    """Without a date: the member's birthday (or how to set one). With one: ask to confirm it."""
    if not ctx.args:
        status = await ctx.services.birthdays.status(ctx.member)
        return ctx.render("birthday.txt", status=status, calendar=calendar)
    proposal = await ctx.services.birthdays.propose(ctx.member, ctx.args, calendar)
    return ctx.render("birthday_confirm.txt", proposal=proposal, choice=proposal.choice)


@router.confirm(BIRTHDAY_KIND)
async def confirm_birthday(ctx: Ctx, choice: PendingChoice):
    status = await ctx.services.birthdays.confirm(ctx.member, choice.payload["sealed"], choice.choice_id)
    return ctx.render("birthday_saved.txt", status=status)


@router.text("领取生日礼", "生日礼", "生日礼物", "birthday gift", help="生日月领取生日礼（每年一次）", featured=True)
@router.menu("BIRTHDAY_GIFT")
async def claim_birthday_gift(ctx: Ctx):
    claim = await ctx.services.birthdays.claim_gift(ctx.member)
    return ctx.render("birthday_gift.txt", claim=claim)
