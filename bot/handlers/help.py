from __future__ import annotations

from ..context import Ctx
from ..router import Router

router = Router("help")


@router.text("帮助", "help", "菜单", "menu", "?")
@router.menu("HELP")
async def show_help(ctx: Ctx):
    return ctx.render("help.txt", commands=ctx.commands)


@router.fallback
async def not_understood(ctx: Ctx):
    return ctx.render("not_understood.txt", commands=ctx.commands)
