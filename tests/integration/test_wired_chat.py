"""The bot and the WeChat sandbox together: safe mode, the time budget with late delivery, phone binding."""
import asyncio
import re
from datetime import datetime

from bot.handlers import build_router
from bot.router import Router
from loyalty_core import keys
from loyalty_core.clock import MALL_TZ


async def test_safe_mode_conversation_through_the_sandbox(start_wired):
    wired = await start_wired(safe_mode=True)
    openid = await wired.join("小安")
    assert "会员中心可以帮您" in await wired.say(openid, "帮助")
    [welcome] = [m for m in await wired.wechat.delivered(openid) if "欢迎加入" in str(m)]
    assert welcome["channel"] == "passive"


def slow_router(delay: float, runs: list) -> Router:
    slow = Router("slow")

    @slow.text("慢查询")
    async def slow_answer(ctx):
        runs.append(1)
        await asyncio.sleep(delay)
        return ctx.render("error.txt", correlation="late-answer")

    return build_router().include(slow)


async def test_a_handler_over_budget_answers_success_now_and_the_reply_later_once(start_wired):
    runs: list[int] = []
    wired = await start_wired(router=slow_router(0.6, runs), budget=0.2)
    openid = await wired.join()
    outcome = await wired.wechat.text(openid, "慢查询")
    assert outcome["reply"] is None and outcome["attempts"] == 1           # "success": no passive reply
    await wired.drain()
    late = [m for m in await wired.wechat.delivered(openid, channel="custom") if "late-answer" in str(m)]
    assert len(late) == 1 and len(runs) == 1


async def code_from_sms(wired, phone: str) -> str:
    [*_, latest] = await wired.wechat.sms(phone)
    return re.search(r"\b(\d{6})\b", latest["text"]).group(1)


async def test_binding_a_phone_with_an_sms_code(start_wired, redis):
    wired = await start_wired()
    openid = await wired.join()
    sent = await wired.say(openid, "绑定 +86 138-0013-8000")
    assert "138****8000" in sent
    code = await code_from_sms(wired, "13800138000")
    assert "绑定成功" in await wired.say(openid, f"验证 {code}")
    member_id = await redis.get(f"idx:openid:{openid}")
    profile = await redis.hgetall(f"{{m:{member_id}}}:profile")
    assert "13800138000" not in str(profile) and profile["phone_enc"].startswith("v1.")   # encrypted at rest


async def test_one_code_a_minute_and_codes_expire_after_ten_minutes(start_wired, clock):
    wired = await start_wired()
    openid = await wired.join()
    await wired.say(openid, "绑定 13900139000")
    assert "秒后再试" in await wired.say(openid, "绑定 13900139000")
    code = await code_from_sms(wired, "13900139000")
    clock.advance(minutes=10, seconds=1)
    assert "已过期" in await wired.say(openid, f"验证 {code}")
    assert "验证码已发送" in await wired.say(openid, "绑定 13900139000")


async def has_challenge(redis, openid: str) -> bool:
    return bool(await redis.exists(keys.phone_challenge(await redis.get(keys.openid_index(openid)))))


async def test_one_number_gets_one_code_a_minute_whichever_member_asks(start_wired, clock, redis):
    wired = await start_wired()
    first, second = await wired.join(), await wired.join()
    assert "验证码已发送" in await wired.say(first, "绑定 13500135000")
    clock.advance(seconds=45)
    assert "请 15 秒后再试" in await wired.say(second, "绑定 13500135000")
    assert not await has_challenge(redis, second) and len(await wired.wechat.sms("13500135000")) == 1
    clock.advance(seconds=15)
    assert "验证码已发送" in await wired.say(second, "绑定 13500135000")
    assert not [key async for key in redis.scan_iter() if "13500135000" in key]   # the number only as a keyed hash


async def test_one_number_gets_ten_codes_a_day_in_the_malls_timezone(start_wired, clock, redis):
    wired = await start_wired()
    phone = "13500135000"
    members = [await wired.join() for _ in range(11)]
    for openid in members[:10]:
        assert "验证码已发送" in await wired.say(openid, f"绑定 {phone}")
        clock.advance(minutes=5)
    assert "今天的验证码次数已用完" in await wired.say(members[10], f"绑定 {phone}")
    assert not await has_challenge(redis, members[10]) and len(await wired.wechat.sms(phone)) == 10
    assert "验证码已发送" in await wired.say(members[10], "绑定 13500135001")      # other numbers are not held up
    clock.set(datetime(2026, 1, 16, 0, 0, tzinfo=MALL_TZ))                         # the mall's next day, 16:00 UTC
    assert "验证码已发送" in await wired.say(members[9], f"绑定 {phone}")
    assert len(await wired.wechat.sms(phone)) == 11


async def test_five_wrong_codes_end_the_attempt(start_wired):
    wired = await start_wired()
    openid = await wired.join()
    await wired.say(openid, "绑定 13700137000")
    right = await code_from_sms(wired, "13700137000")
    wrong = "000000" if right != "000000" else "111111"
    replies = [await wired.say(openid, f"验证 {wrong}") for _ in range(5)]
    assert "还可以再试 4 次" in replies[0] and "还可以再试 1 次" in replies[3]
    assert "错误次数过多" in replies[4]
    assert "错误次数过多" in await wired.say(openid, f"验证 {right}")     # even the right code is too late now


async def test_a_phone_bound_to_another_member_is_refused_and_nothing_changes(start_wired, redis):
    wired = await start_wired()
    first, second = await wired.join(), await wired.join()
    await wired.say(first, "绑定 13600136000")
    await wired.say(first, f"验证 {await code_from_sms(wired, '13600136000')}")
    second_id = await redis.get(f"idx:openid:{second}")
    before = await redis.hgetall(f"{{m:{second_id}}}:profile")
    assert "另一个会员" in await wired.say(second, "绑定 136 0013 6000")
    assert await redis.hgetall(f"{{m:{second_id}}}:profile") == before
    assert len(await wired.wechat.sms("13600136000")) == 1


async def test_invalid_numbers_get_a_clear_message(start_wired):
    wired = await start_wired()
    openid = await wired.join()
    assert "不是有效的大陆手机号" in await wired.say(openid, "绑定 12345")
    assert "绑定 13800138000" in await wired.say(openid, "绑定")
