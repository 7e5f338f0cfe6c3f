"""活动 / 报名 / 取消报名 / 我的活动: member events in chat; and the 1–5 answer to a feedback request or a survey."""
from __future__ import annotations

import re

from ..context import Ctx
from ..router import Router

router = Router("events")
_SCORE = re.compile(r"([1-5])(?:\s+(.*))?", re.DOTALL)


@router.text("活动", "events", help="会员活动列表和剩余名额，发送「报名 编号」报名", featured=True)
@router.menu("EVENTS")
async def list_events(ctx: Ctx):
    return ctx.render("events.txt", listings=await ctx.services.events.open_events())


@router.text("报名", "sign up", help="报名一个活动，例如：报名 1（满员时进入候补）", example="报名 编号")
async def sign_up(ctx: Ctx):
    number = event_number(ctx.args)
    if number is None:
        return await list_events(ctx)
    place = await ctx.services.events.sign_up(ctx.member, number)
    return ctx.render("event_place.txt", place=place)


@router.text("取消报名", "cancel sign up", help="取消一个活动的报名，例如：取消报名 1", example="取消报名 编号")
async def cancel_sign_up(ctx: Ctx):
    number = event_number(ctx.args)
    if number is None:
        return await my_events(ctx)
    cancelled = await ctx.services.events.cancel(ctx.member, number)
    return ctx.render("event_cancelled.txt", cancelled=cancelled)


@router.text("我的活动", "my events", help="我报名的活动")
async def my_events(ctx: Ctx):
    return ctx.render("my_events.txt", places=await ctx.services.events.mine(ctx.member))


@router.text("1", "2", "3", "4", "5", "评分")
async def answer_survey(ctx: Ctx):
    """「5 很棒」answers the question asked last and still open: an event's feedback request or a purchase's
    satisfaction survey; 「评分 5 很棒」 too."""
    words = ctx.args if ctx.message.content.strip().startswith("评分") else ctx.message.content.strip()
    answer = _SCORE.fullmatch(words.strip())
    if answer is None:
        return ctx.render("not_understood.txt", commands=ctx.commands)
    answered = await ctx.services.surveys.answer(ctx.member, int(answer[1]), answer[2] or "")
    return ctx.render("survey_thanks.txt", answered=answered)


def event_number(args: str) -> int | None:
    words = args.replace("第", "").replace("个", "").strip()
    return int(words) if words.isdecimal() and len(words) <= 9 else None
