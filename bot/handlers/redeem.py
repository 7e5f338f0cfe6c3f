"""兑换: browse the rewards catalogue, pick an item, and redeem it with 确认 (see confirm.py)."""
from __future__ import annotations

from dataclasses import dataclass

from loyalty_core.pending import PendingChoice
from loyalty_core.redemption import REDEEM_KIND

from ..context import Ctx
from ..router import Router

router = Router("redeem")
NEXT_PAGE = {"下一页", "下页", "更多", "next", "more"}


@dataclass(frozen=True)
class RedeemIntent:
    number: int | None = None           # 兑换 3: that item
    next_page: bool = False             # 兑换 下一页


def redeem_intent(args: str) -> RedeemIntent:
    words = args.replace("第", "").replace("个", "").strip()
    if words.isdecimal():            # not isdigit(): it passes "፩", which int() refuses
        return RedeemIntent(number=int(words))
    return RedeemIntent(next_page=words.casefold() in NEXT_PAGE)


@router.text("兑换", "redeem", help="积分兑换：列出可兑换的礼品，发送「兑换 2」选择，「兑换 下一页」翻页",
              featured=True)
@router.menu("REDEEM")
async def redeem(ctx: Ctx):
    intent = redeem_intent(ctx.args)
    if intent.number is not None:
        offer = await ctx.services.redemption.offer(ctx.member, intent.number)
        return ctx.render("redeem_offer.txt", offer=offer)
    page = await ctx.services.redemption.browse(ctx.member, next_page=intent.next_page)
    return ctx.render("redeem_list.txt", page=page)


@router.confirm(REDEEM_KIND)
async def confirm_redemption(ctx: Ctx, choice: PendingChoice):
    redemption = await ctx.services.redemption.redeem(ctx.member, choice.payload["item_id"], choice.choice_id,
                                                      offered_points=choice.payload.get("points"))
    return ctx.render("redeemed.txt", redemption=redemption)
