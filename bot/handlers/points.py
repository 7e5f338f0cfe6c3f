"""积分 / 明细 / 等级 / 排行 / 会员码: the member's points, history, tier, the leaderboard and the till code."""
from __future__ import annotations

from ..context import Ctx
from ..images import qr_png, upload_image
from ..replies import Image
from ..router import Router

router = Router("points")
MAX_PAGE = 1_000_000


@router.text("积分", "points", help="查看积分余额和即将过期的积分", featured=True)
@router.menu("MY_POINTS")
async def show_points(ctx: Ctx):
    summary = await ctx.services.points.summary(ctx.member, ctx.now)
    return ctx.render("points.txt", summary=summary)


@router.text("明细", "history", help="积分明细，发送「明细 2」看下一页", example="明细")
@router.menu("MY_HISTORY")
async def show_history(ctx: Ctx):
    page = await ctx.services.points.history(ctx.member, page=page_number(ctx.args))
    return ctx.render("points_history.txt", page=page)


@router.text("等级", "tier", help="会员等级、权益和升级进度")
@router.menu("MY_TIER")
async def show_tier(ctx: Ctx):
    status = await ctx.services.tiers.status(ctx.member, ctx.now)
    return ctx.render("tier.txt", status=status)


@router.text("排行", "排行榜", "rank", help="本年度积分排行榜和我的名次")
async def show_leaderboard(ctx: Ctx):
    board = await ctx.services.points.leaderboard(ctx.member, ctx.now)
    return ctx.render("leaderboard.txt", board=board)


@router.text("会员码", "code", help="出示会员码，结账时扫码累积积分", featured=True)
@router.menu("MEMBER_CODE")
async def show_member_code(ctx: Ctx):
    code = await ctx.services.member_codes.issue(ctx.member)
    text = ctx.render("member_code.txt", code=code)
    media_id = await upload_image(ctx.services.wechat, "member-code.png", qr_png(code.code))
    return [text, Image(media_id)] if media_id else text


def page_number(args: str) -> int:
    """明细 <n>: a page from 1 to MAX_PAGE (beyond, Redis refuses the list offset); else the first page."""
    if not args.isdecimal():            # not isdigit(): it passes "፩", which int() refuses
        return 1
    return min(int(args), MAX_PAGE) if int(args) > 0 else 1
