"""The welcome gift: given once per member for life, on the first follow or on a first message from someone
who followed before the program existed; completed after a crash by a WeChat retry or by the consumer of
`member_joined`; a gift the rules refuse never stops the welcome."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.app_keys import SERVICES
from bot.events import welcome_consumer
from bot.inbound import Inbound, parse_fields
from bot.services import Services
from tests.integration.killed import kill_after
from tests.wechat_peer import WeChatPeer, event_xml

DEFAULT = (Path(__file__).parents[2] / "loyalty_core" / "program_default.toml").read_text()
WELCOME_TERMS = "· 新会员立减券：立减20元，满100可用，至2月14日"     # valid_days = 30 from 2026-01-15


def program_file(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """The packaged program with 100 welcome points and the given edits."""
    text = DEFAULT.replace('coupon = "welcome-20"\npoints = 0', 'coupon = "welcome-20"\npoints = 100')
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "program.toml"
    path.write_text(text)
    return path


@pytest.fixture
async def bot(start_bot, redis, tmp_path) -> tuple[WeChatPeer, Services]:
    client = await start_bot(program_file=program_file(tmp_path))
    return WeChatPeer(client), client.server.app[SERVICES]


async def gifts(services: Services, openid: str) -> tuple[list[str], int]:
    """The titles of the member's coupons and their points balance."""
    member_id = await services.members.member_id_for_openid(openid)
    wallet = await services.coupons.wallet(member_id)
    balance = (await services.points.summary(member_id, services.clock.now())).balance
    return [coupon.template.title for coupon in wallet], balance


async def test_a_first_follow_gives_the_gift_the_reply_says_so_and_no_retry_or_refollow_gives_it_again(bot, clock):
    peer, services = bot
    follow_time = int(clock.now().timestamp())
    reply = (await peer.follow("o_ann", create_time=follow_time)).content
    assert reply.startswith("欢迎加入会员中心")
    assert "新会员礼已送到您的账户：\n" + WELCOME_TERMS + "\n· 100 积分\n发送「我的券」查看，发送「积分」查看余额。" in reply
    assert await gifts(services, "o_ann") == (["新会员立减券"], 100)
    assert (await peer.follow("o_ann", create_time=follow_time)).content == reply       # WeChat's retry
    await peer.unfollow("o_ann", create_time=follow_time + 60)
    back = (await peer.follow("o_ann", create_time=follow_time + 120)).content
    assert back.startswith("欢迎回来") and "新会员礼" not in back
    assert (await welcome_consumer(services, "test").drain()).handled == 1
    assert await gifts(services, "o_ann") == (["新会员立减券"], 100)


async def test_someone_who_followed_before_the_program_joins_by_writing_and_is_welcomed_with_the_gift(bot):
    peer, services = bot
    reply = await peer.say("o_ben", "积分")
    answer, welcome = reply[:reply.index("欢迎加入")], reply[reply.index("欢迎加入"):]
    assert "可用积分：100 分" in answer                       # the gift is already counted
    assert WELCOME_TERMS in welcome and "您可以发送" in welcome
    assert "欢迎" not in await peer.say("o_ben", "积分")
    await welcome_consumer(services, "test").drain()
    assert await gifts(services, "o_ben") == (["新会员立减券"], 100)


async def test_the_consumer_gives_the_gift_once_however_often_and_concurrently_it_runs(bot):
    _, services = bot
    joined = await services.members.follow("o_cai", "evt:first")       # created, but the gift never started
    assert await gifts(services, "o_cai") == ([], 0)
    consumer = welcome_consumer(services, "test")
    await asyncio.gather(consumer.drain(), *(services.welcome.give(joined.member_id) for _ in range(5)))
    await consumer.drain()
    assert await gifts(services, "o_cai") == (["新会员立减券"], 100)
    await services.members.unfollow("o_cai", "evt:left")
    await services.members.follow("o_cai", "evt:back")
    assert (await consumer.drain()).handled == 0                        # a re-follow is no new member
    assert await gifts(services, "o_cai") == (["新会员立减券"], 100)


async def test_the_consumer_leaves_members_who_joined_long_ago_alone(bot, clock):
    """A consumer group first created on a stream that holds the joins of members from before the welcome
    gift existed gives them nothing."""
    _, services = bot
    await services.members.follow("o_old", "evt:long-ago")
    clock.advance(days=8)
    assert (await welcome_consumer(services, "test").drain()).handled == 1
    assert await gifts(services, "o_old") == ([], 0)


@pytest.mark.parametrize("stop_after, left_behind", [("follow", ([], 0)), ("coupon", (["新会员立减券"], 0))])
@pytest.mark.parametrize("repair", ["the consumer", "WeChat's retry"])
async def test_a_process_killed_before_the_gift_was_complete_leaves_it_to_be_completed_once(
        bot, tmp_path, redis_url, clock, stop_after, left_behind, repair):
    peer, services = bot
    follow_time = int(clock.now().timestamp())
    delivery = Inbound.from_fields(parse_fields(event_xml("o_dan", "subscribe", create_time=follow_time).encode()))
    await kill_after("tests.integration.welcome_driver", stop_after, {
        "REDIS_URL": redis_url, "OPENID": "o_dan", "DELIVERY_KEY": delivery.delivery_key,
        "CLOCK_AT": clock.now().isoformat(), "PROGRAM_FILE": str(program_file(tmp_path))})
    assert await gifts(services, "o_dan") == left_behind
    if repair == "WeChat's retry":      # the callback that died is delivered again and welcomes the member
        reply = (await peer.follow("o_dan", create_time=follow_time)).content
        assert WELCOME_TERMS in reply and "· 100 积分" in reply
    await services.outbox.sweep(clock.now(), older_than_ms=0)          # the driver may have died before relaying
    await welcome_consumer(services, "test").drain()
    assert await gifts(services, "o_dan") == (["新会员立减券"], 100)


async def test_a_coupon_the_rules_refuse_is_logged_and_the_welcome_still_goes_out(start_bot, redis, tmp_path, caplog):
    edits = ('per_member_limit = 1\n\n[[coupons.templates]]\nid = "tea-bogo"',
             'per_member_limit = 1\ntotal_limit = 1\n\n[[coupons.templates]]\nid = "tea-bogo"')
    client = await start_bot(program_file=program_file(tmp_path, edits))
    peer, services = WeChatPeer(client), client.server.app[SERVICES]
    assert WELCOME_TERMS in (await peer.follow("o_eva")).content
    caplog.set_level(logging.WARNING, "loyalty_core.welcome")
    reply = (await peer.follow("o_fay")).content                       # the only welcome coupon is given
    assert reply.startswith("欢迎加入会员中心") and "新会员立减券" not in reply and "· 100 积分" in reply
    assert "发送「积分」查看余额" in reply and "我的券" not in reply
    assert await gifts(services, "o_fay") == ([], 100)
    report = await welcome_consumer(services, "test").drain()
    assert (report.handled, report.failed) == (2, 0)                    # refused for good: not retried
    fay = await services.members.member_id_for_openid("o_fay")
    assert f"welcome coupon welcome-20 not issued to member {fay}: issue_limit_reached" in caplog.text
    assert "o_fay" not in caplog.text
