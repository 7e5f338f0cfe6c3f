"""我的券 / 券 <code>: the member's coupon wallet, and one coupon with a QR code for the till."""
from __future__ import annotations

from ..context import Ctx
from ..images import qr_png, upload_image
from ..replies import Image
from ..router import Router

router = Router("wallet")


@router.text("我的券", "优惠券", "coupons", help="我的优惠券：可用的券，最早到期的排在前面")
@router.menu("MY_COUPONS")
async def show_wallet(ctx: Ctx):
    coupons = await ctx.services.coupons.wallet(ctx.member)
    return ctx.render("wallet.txt", coupons=coupons)


@router.text("券", "coupon", help="出示一张券及其二维码，结账时给收银员扫码", example="券 券码")
async def show_coupon(ctx: Ctx):
    if not ctx.args:
        return await show_wallet(ctx)
    coupon = await ctx.services.coupons.member_coupon(ctx.member, ctx.args)
    text = ctx.render("coupon.txt", coupon=coupon, now=ctx.now)
    media_id = await upload_image(ctx.services.wechat, "coupon.png", qr_png(coupon.code))
    return [text, Image(media_id)] if media_id else text
