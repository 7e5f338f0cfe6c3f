from __future__ import annotations

from ..context import Ctx
from ..router import Router

router = Router("phone")


@router.text("绑定", "bind", help="绑定手机号，例如：绑定 13800138000", example="绑定 手机号", featured=True)
@router.menu("BIND_PHONE")
async def request_code(ctx: Ctx):
    if not ctx.args:
        await ctx.services.members.privacy_notice_shown(ctx.member)    # the help carries the notice
        return ctx.render("phone_how.txt")
    sent = await ctx.services.members.request_binding(ctx.member, ctx.args)
    return ctx.render("phone_code_sent.txt", sent=sent)


@router.text("验证", "verify", help="输入短信验证码完成绑定", example="验证 验证码")
async def verify_code(ctx: Ctx):
    if not ctx.args:
        return ctx.render("verify_how.txt")
    bound = await ctx.services.members.verify_phone(ctx.member, ctx.args)
    return ctx.render("phone_bound.txt", bound=bound)
