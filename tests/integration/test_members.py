"""Member identity in Redis: follow once, unfollow, come back; events relayed to the outbox stream."""
import asyncio
from datetime import timedelta

import pytest

from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core.redis_store.outbox import Outbox
from loyalty_core.redis_store.scripts import Scripts

KEY = b"k" * 32


@pytest.fixture
def services(redis, clock):
    return build_services(redis, clock, KEY, LogSmsSender())


async def stream_types(redis) -> list[str]:
    return [fields["type"] for _, fields in await redis.xrange("outbox:events")]


async def test_follow_creates_the_member_once(services, redis):
    first = await services.members.follow("o_1", "evt:a")
    again = await services.members.follow("o_1", "evt:a")          # WeChat retry of the same event
    other = await services.members.follow("o_1", "evt:b")          # a second follow event while following
    assert first.is_new and again == first
    assert not other.is_new and other.member_id == first.member_id
    member = await services.members.get(first.member_id)
    assert member.openid == "o_1" and member.subscribed
    assert await stream_types(redis) == ["member_joined"]


async def test_concurrent_first_follows_agree_on_one_member(services, redis):
    results = await asyncio.gather(*(services.members.follow("o_race", f"evt:{i}") for i in range(20)))
    assert len({r.member_id for r in results}) == 1
    assert sum(r.is_new for r in results) == 1
    assert await stream_types(redis) == ["member_joined"]


async def test_unfollow_and_refollow_keep_the_member(services, redis, clock):
    joined = await services.members.follow("o_2", "evt:1")
    clock.advance(days=3)
    assert await services.members.unfollow("o_2", "evt:2")
    assert not (await services.members.get(joined.member_id)).subscribed
    assert not await services.members.unfollow("o_2", "evt:3")    # already unfollowed: no change
    clock.advance(days=3)
    back = await services.members.follow("o_2", "evt:4")
    assert back.member_id == joined.member_id and back.restored and not back.is_new
    member = await services.members.get(joined.member_id)
    assert member.subscribed and member.joined_at == clock.now() - timedelta(days=6)
    assert await stream_types(redis) == ["member_joined", "member_unsubscribed", "member_refollowed"]


async def test_unfollow_of_a_stranger_changes_nothing(services, redis):
    assert not await services.members.unfollow("o_nobody", "evt:1")
    assert await redis.dbsize() == 0


async def test_outbox_sweep_relays_events_a_crashed_process_left(redis, clock):
    scripts = Scripts(redis)
    outbox = Outbox(redis, scripts)
    await outbox.mark("100001", clock.now())
    await redis.hset("{m:100001}:outbox", "e1", '{"event_id": "e1", "type": "demo", "occurred_at": "x"}')
    assert await outbox.sweep(clock.now()) == 0                     # too recent: its process may still relay
    clock.advance(seconds=11)
    assert await outbox.sweep(clock.now()) == 1
    assert await stream_types(redis) == ["demo"]
    assert await redis.zcard("outbox:dirty") == 0 and await redis.hlen("{m:100001}:outbox") == 0


async def test_a_script_given_keys_of_two_members_is_refused_before_it_reaches_redis(redis):
    from loyalty_core.redis_store.scripts import CrossSlotScript, Scripts
    with pytest.raises(CrossSlotScript):
        await Scripts(redis).run("index_release", ["{m:1}:a", "{m:2}:b"], ["x"])
    assert await redis.dbsize() == 0
