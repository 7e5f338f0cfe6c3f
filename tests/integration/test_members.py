"""Member identity in Redis: follow once, unfollow, come back; events relayed to the outbox stream."""
import asyncio
from datetime import timedelta

import pytest

from bot.events import join_day_consumer
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core import errors, keys
from loyalty_core.redis_store.outbox import Outbox, event_body
from loyalty_core.redis_store.scripts import Scripts
from tests.fixtures_bot import CapturingSms

KEY = b"k" * 32


@pytest.fixture
def services(redis, clock):
    return build_services(redis, clock, KEY, LogSmsSender())


async def stream_types(redis) -> list[str]:
    """The types of the distinct events in the stream. Relaying is at least once (two requests for one member
    may both relay its outbox before either deletes it), so, like every consumer, count by event_id."""
    distinct: dict[str, str] = {}
    for _, fields in await redis.xrange("outbox:events"):
        distinct.setdefault(fields["event_id"], fields["type"])
    return list(distinct.values())


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


async def test_members_are_filed_under_their_join_day_for_anniversaries(services, redis, clock):
    ann = (await services.members.follow("o_ann", "evt:1")).member_id
    ben = (await services.members.follow("o_ben", "evt:2")).member_id
    await redis.srem(keys.joined_on("solar:01-15"), ben)              # a crash right after the member was made
    assert await services.members.anniversaries_on(clock.now().date()) == []      # joined today: none yet
    assert (await join_day_consumer(services, "test").drain()).handled == 2        # the consumer files ben again
    year_on = clock.now().date().replace(year=2027)
    clock.advance(days=365)
    await services.members.unfollow("o_ben", "evt:3")
    assert await services.members.anniversaries_on(year_on) == [(ann, 1)]        # ben unfollowed
    assert await services.members.anniversaries_on(year_on.replace(year=2029)) == [(ann, 3)]
    assert await services.members.anniversaries_on(year_on.replace(day=16)) == []


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


# -- phone binding: crash windows between the phone index (its own slot) and the member's profile -------------
@pytest.fixture
def sms():
    return CapturingSms()


@pytest.fixture
def members(redis, clock, sms):
    return build_services(redis, clock, KEY, sms).members


@pytest.fixture
def bind(members, sms):
    async def bind(member_id: str, phone: str):
        await members.request_phone_code(member_id, phone)
        return await members.verify_phone(member_id, sms.codes[phone])
    return bind


async def test_a_phone_left_indexed_by_a_crash_during_a_number_change_can_be_bound_by_its_new_owner(
        members, bind, redis, clock):
    old_owner = (await members.follow("o_changer", "evt:c")).member_id
    await bind(old_owner, "13800138001")
    clock.advance(minutes=2)
    await bind(old_owner, "13800138002")
    old_hash = members.phone_hash("13800138001")
    # The process died after binding the new number and before releasing the old one from the index.
    await redis.set(f"idx:phone:{old_hash}", old_owner)
    assert await members.member_id_for_phone("13800138001") is None      # no purchase booked to the wrong member
    newcomer = (await members.follow("o_newcomer", "evt:n")).member_id
    bound = await bind(newcomer, "13800138001")
    assert not bound.replaced and await members.member_id_for_phone("13800138001") == newcomer
    assert await members.member_id_for_phone("13800138002") == old_owner


async def test_a_member_whose_binding_was_cut_short_after_the_index_claim_can_bind_again(members, bind, redis, clock):
    member_id = (await members.follow("o_cut", "evt:c")).member_id
    await members.request_phone_code(member_id, "13900139001")
    phone_hash = members.phone_hash("13900139001")
    # The code was verified and the index claimed; the process died before the profile was written,
    # and the member never sent the code again (the challenge has gone).
    await redis.set(f"idx:phone:{phone_hash}", member_id)
    await redis.delete(f"{{m:{member_id}}}:phone-challenge")
    clock.advance(minutes=1)                                   # (the number itself takes a code a minute)
    bound = await bind(member_id, "13900139001")
    assert (await members.get(member_id)).phone_hash == phone_hash and not bound.replaced


async def test_a_verified_binding_in_progress_is_not_mistaken_for_a_leftover(members, redis):
    holder = (await members.follow("o_holder", "evt:h")).member_id
    await members.request_phone_code(holder, "13700137001")
    phone_hash = members.phone_hash("13700137001")
    # The holder's code is verified and the index claimed: the profile is about to be written.
    await redis.hset(f"{{m:{holder}}}:phone-challenge", "verified", "1")
    await redis.set(f"idx:phone:{phone_hash}", holder)
    other = (await members.follow("o_other", "evt:o")).member_id
    with pytest.raises(errors.PhoneTaken):
        await members.request_phone_code(other, "13700137001")
    assert await members.member_id_for_phone("13700137001") == holder


async def test_one_sweep_clears_every_stale_dirty_mark_not_only_one_batch(redis, clock):
    outbox = Outbox(redis, Scripts(redis))
    await redis.zadd("outbox:dirty", {str(100_000 + n): 1 for n in range(1200)})
    assert await outbox.sweep(clock.now(), batch=500) == 0
    assert await redis.zcard("outbox:dirty") == 0


async def test_a_batch_removes_its_own_dirty_marks_once_relayed_and_no_step_s_mark_of_the_same_member(redis, clock):
    outbox, now = Outbox(redis, Scripts(redis)), clock.now()
    await outbox.mark("100001", now)                   # a single step of 100001's, its event not relayed yet
    marks = await outbox.mark_many(["100001", "100002"], now)
    assert await redis.zcard("outbox:dirty") == 3
    body = event_body("e1", "coupon_issued", "100002", now.isoformat(), {})
    await redis.hset("{m:100002}:outbox", "e1", body)
    await outbox.relay_emitted([("100002", "e1", "coupon_issued", body)], marks)
    assert await redis.zrange("outbox:dirty", 0, -1) == ["100001"]
    assert [fields["event_id"] for _, fields in await redis.xrange("outbox:events")] == ["e1"]
    assert await redis.hlen("{m:100002}:outbox") == 0


async def test_a_batch_cut_short_before_its_relay_leaves_its_marks_for_the_sweep(redis, clock):
    outbox = Outbox(redis, Scripts(redis))
    await outbox.mark_many(["100003", "100004"], clock.now())
    await redis.hset("{m:100003}:outbox", "e2", event_body("e2", "coupon_issued", "100003", "", {}))
    clock.advance(minutes=1)
    assert await outbox.sweep(clock.now()) == 1
    assert await redis.zcard("outbox:dirty") == 0 and await redis.hlen("{m:100003}:outbox") == 0
    assert [fields["event_id"] for _, fields in await redis.xrange("outbox:events")] == ["e2"]


async def test_binding_a_number_again_after_a_change_is_a_new_event(members, bind, redis, clock):
    member_id = (await members.follow("o_rebind", "evt:r")).member_id
    for phone in ("13600136001", "13600136002", "13600136001"):
        await bind(member_id, phone)
        clock.advance(minutes=2)
    bound = [fields["event_id"] for _, fields in await redis.xrange("outbox:events") if fields["type"] == "phone_bound"]
    assert len(bound) == 3 and len(set(bound)) == 3
