"""推荐 / 推荐榜 and arrivals through a referral QR code (scene `ref:<member_id>`)."""
from __future__ import annotations

import logging

from loyalty_core.referral import SCENE_PREFIX

from ..context import Ctx
from ..replies import Image
from ..router import Router

log = logging.getLogger("bot.handlers.referral")
router = Router("referral")


@router.text("推荐", "我的二维码", "推荐有礼", "invite", help="我的推荐二维码：好友扫码关注并首次消费，双方都有奖励",
              featured=True)
@router.menu("MY_REFERRAL")
async def show_referral(ctx: Ctx):
    stats = await ctx.services.referrals.stats(ctx.member)
    text = ctx.render("referral.txt", stats=stats, rules=ctx.services.referrals.rules)
    media_id = await referral_image(ctx)
    return [text, Image(media_id)] if media_id else text


@router.text("推荐榜", "referral rank", help="本月推荐排行榜和我的名次")
@router.menu("REFERRAL_BOARD")
async def show_referral_board(ctx: Ctx):
    board = await ctx.services.referrals.leaderboard(ctx.member)
    return ctx.render("referral_board.txt", board=board)


@router.scene(SCENE_PREFIX)
async def arrived_by_referral(ctx: Ctx):
    attribution = await ctx.services.referrals.attribute(ctx.member, ctx.args, ctx.follow, ctx.message.delivery_key)
    text = ctx.render("referral_arrival.txt", attribution=attribution)
    return text if text.content else None


async def referral_image(ctx: Ctx) -> str | None:
    """The QR image's media id; None when WeChat cannot be reached (the text still answers)."""
    if ctx.services.wechat is None:
        return None
    try:
        return (await ctx.services.referral_qr.for_member(ctx.member)).media_id
    except Exception as exc:  # noqa: BLE001 - the stats must not fail because of the image
        log.warning("referral QR image failed: %s", type(exc).__name__)
        return None
