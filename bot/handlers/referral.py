"""推荐 / 推荐榜 and arrivals through a referral QR code (scene `ref:<member_id>`)."""
from __future__ import annotations

from loyalty_core.referral import SCENE_PREFIX

from ..context import Ctx
from ..replies import Image
from ..router import Router

router = Router("referral")


@router.text("推荐", "我的二维码", "推荐有礼", "invite", help="我的推荐二维码：好友扫码关注并首次消费，双方都有奖励",
              featured=True)
@router.menu("MY_REFERRAL")
async def show_referral(ctx: Ctx):
    stats = await ctx.services.referrals.stats(ctx.member)
    text = ctx.render("referral.txt", stats=stats, rules=ctx.services.referrals.rules)
    qr = await ctx.services.referral_qr.for_member(ctx.member)
    return [text, Image(qr.media_id)] if qr else text


@router.text("推荐榜", "referral rank", help="本月推荐排行榜和我的名次")
async def show_referral_board(ctx: Ctx):
    board = await ctx.services.referrals.leaderboard(ctx.member)
    return ctx.render("referral_board.txt", board=board)


@router.scene(SCENE_PREFIX)
async def arrived_by_referral(ctx: Ctx):
    attribution = await ctx.services.referrals.attribute(ctx.member, ctx.args, ctx.follow, ctx.message.delivery_key)
    text = ctx.render("referral_arrival.txt", attribution=attribution)
    return text if text.content else None
