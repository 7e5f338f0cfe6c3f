"""人工 / 客服: hand the member to a person in staffed hours; 建议: a suggestion for staff, at any time."""
from __future__ import annotations

from ..context import Ctx
from ..replies import ToStaff
from ..router import Router

router = Router("service")


@router.text("人工", "客服", "人工客服", "staff", help="联系人工客服（服务时间内直接转接），如「人工 停车怎么收费」")
async def hand_to_staff(ctx: Ctx):
    staffing = ctx.services.service_desk.staffing()
    if staffing.staffed:
        return ToStaff(staffing.kf_account)
    return ctx.render("staff_away.txt", staffing=staffing)


@router.menu("CUSTOMER_SERVICE")
async def staff_from_the_menu(ctx: Ctx):
    """WeChat hands over a member's message, not a menu tap (a tap forwarded would reach staff as an empty
    event): in staffed hours the member is asked to write, and 「人工 …」 hands that message over."""
    staffing = ctx.services.service_desk.staffing()
    return ctx.render("staff_how.txt" if staffing.staffed else "staff_away.txt", staffing=staffing)


@router.text("建议", "留言", "suggest", help="给我们留言或提建议，例如：建议 停车场指引再清楚些", example="建议 内容")
async def suggest(ctx: Ctx):
    if not ctx.args:
        return ctx.render("suggest_how.txt")
    await ctx.services.service_desk.suggest(ctx.member, ctx.args, ctx.message.delivery_key)
    return ctx.render("suggestion_thanks.txt")
