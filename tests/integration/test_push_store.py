"""Pushes in Redis: planned exactly once, dedup keys, caps that hold under concurrency, windows that two senders
cannot overrun, the pending inbox, wake-ups and the repair of steps a crash cut short."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from loyalty_core import errors, keys
from loyalty_core.clock import MALL_TZ
from loyalty_core.push.planner import PushPolicy
from loyalty_core.push.service import Outcome
from loyalty_core.redis_store.connection import connect
from tests.pushes import POINTS_NOTICE, followers, message_window, push_services, text_push


@pytest.fixture
async def services(redis, clock):
    return push_services(redis, clock)


async def stream_entries(redis, services) -> list[dict]:
    found = []
    for partition in range(services.push_queue.partitions):
        found += [fields for _, fields in await redis.xrange(keys.push_stream(partition))]
    return found


async def test_a_push_is_planned_once_however_often_it_is_asked(services, redis, clock):
    [member] = await followers(services, 1)
    push = text_push(member.member_id, clock.now(), template=POINTS_NOTICE)
    first = await services.pushes.plan(push)
    again = await services.pushes.plan(push)
    assert (first.status, first.channel, first.attempt) == ("queued", "template", 1)
    assert (again.status, again.attempt) == ("queued", 1)
    assert await stream_entries(redis, services) == [{"m": member.member_id, "p": push.push_id, "a": "1", "c": "template"}]
    assert await services.push_queue.due_count() == 0       # the watchdog is gone once the entry is written
    [step] = await services.pushes.deliveries(member.member_id)
    assert (step.status, step.channel, step.topic) == ("queued", "template", "points_earned")


async def test_the_same_dedup_key_never_reaches_a_member_twice(services, clock):
    [member] = await followers(services, 1)
    first = await services.pushes.plan(text_push(member.member_id, clock.now(), topic="campaign:7", kind="marketing",
                                                 push_id="a"))
    second = await services.pushes.plan(text_push(member.member_id, clock.now(), topic="campaign:7",
                                                  kind="marketing", push_id="b"))
    assert first.status == "pending_inbox"
    assert (second.status, second.reason) == ("dropped", "duplicate")
    assert [s.status for s in await services.pushes.deliveries(member.member_id)] == ["dropped", "pending_inbox"]


async def test_a_push_to_no_member_is_refused_and_changes_nothing(services, redis, clock):
    with pytest.raises(errors.UnknownMember):
        await services.pushes.plan(text_push("999999", clock.now()))
    assert await redis.dbsize() == 0


async def test_concurrent_marketing_pushes_fill_the_daily_cap_once(services, clock):
    [member] = await followers(services, 1)
    await message_window(services, member)
    pushes = [text_push(member.member_id, clock.now(), topic=f"campaign:{n}", kind="marketing") for n in range(6)]
    records = await asyncio.gather(*(services.pushes.plan(push) for push in pushes))
    assert sorted(r.status for r in records) == ["deferred"] * 5 + ["queued"], [(r.status, r.reason) for r in records]
    tomorrow_9 = datetime(2026, 1, 16, 9, 0, tzinfo=MALL_TZ)
    assert {r.until for r in records if r.status == "deferred"} == {tomorrow_9}


async def test_a_marketing_push_that_waits_gives_its_cap_back(services, redis, clock):
    [member] = await followers(services, 1)
    await message_window(services, member)
    queued = await services.pushes.plan(text_push(member.member_id, clock.now(), topic="campaign:1",
                                                  kind="marketing"))
    begun = await services.pushes.begin(member.member_id, queued.push_id, 1, timedelta(seconds=30))
    await services.pushes.finish(begun.record, Outcome("planned", "window_closed", close_window=True))
    assert (await services.pushes.record(member.member_id, queued.push_id)).status == "pending_inbox"
    assert await redis.hgetall(keys.member_push_caps(member.member_id)) == {}
    other = await services.pushes.plan(text_push(member.member_id, clock.now(), topic="campaign:2", kind="marketing",
                                                 template=POINTS_NOTICE))
    assert other.status == "pending_inbox"     # not capped: nothing was sent today; no window and never a template


async def test_two_senders_cannot_overrun_a_window(services, redis_url, clock):
    [member] = await followers(services, 1)
    await message_window(services, member)
    other_process = connect(redis_url)
    try:
        from tests.pushes import push_services as make
        second = make(other_process, clock)
        takes = [services.pushes.take_window(member.member_id) for _ in range(20)]
        takes += [second.pushes.take_window(member.member_id) for _ in range(20)]
        taken = await asyncio.gather(*takes)
    finally:
        await other_process.aclose()
    assert sum(taken) == 5


async def test_the_latest_action_replaces_the_window_and_a_retried_callback_changes_nothing(services, clock):
    [member] = await followers(services, 1)
    store = services.pushes._store
    await services.pushes.member_acted(member.member_id, "message", clock.now(), "msg:1")
    assert await services.pushes.take_window(member.member_id)
    assert not (await services.pushes.member_acted(member.member_id, "message", clock.now(), "msg:1")).opened   # a retry
    assert (await store.window(member.member_id)).used == 1
    await services.pushes.member_acted(member.member_id, "click", clock.now() + timedelta(seconds=1), "evt:click")
    window = await store.window(member.member_id)
    assert (window.action, window.limit, window.used) == ("click", 3, 0)
    assert not (await services.pushes.member_acted(member.member_id, "message", clock.now() - timedelta(seconds=5),
                                                   "msg:older")).opened
    assert not (await services.pushes.member_acted(member.member_id, "view", clock.now(), "evt:view")).opened
    assert (await store.window(member.member_id)).action == "click"


async def test_a_window_never_opens_later_than_now(services, clock):
    [member] = await followers(services, 1)
    await services.pushes.member_acted(member.member_id, "click", clock.now() + timedelta(hours=1), "evt:future")
    window = await services.pushes._store.window(member.member_id)
    assert window.closes_at == clock.now() + timedelta(minutes=1)


async def test_the_pending_inbox_follows_the_members_next_message_most_urgent_first(services, clock):
    [member] = await followers(services, 1)
    urgencies = ["any", "today", "now", "any", "today"]
    for n, urgency in enumerate(urgencies):
        record = await services.pushes.plan(text_push(member.member_id, clock.now(), topic=f"notice:{n}",
                                                      urgency=urgency, hours=10 + n))
        assert record.status == "pending_inbox"
    await message_window(services, member)
    assert await services.pushes.release_inbox(member.member_id) == 3
    queued = {r.push.topic for r in [await services.pushes.record(member.member_id, p.push_id) for p in
                                     [text_push(member.member_id, clock.now(), topic=f"notice:{n}") for n in range(5)]]
              if r.status == "queued"}
    assert queued == {"notice:2", "notice:1", "notice:4"}


async def test_a_deferred_push_wakes_when_the_quiet_hours_end(services, clock):
    [member] = await followers(services, 1)
    clock.set(datetime(2026, 1, 15, 22, 0, tzinfo=MALL_TZ))
    await message_window(services, member)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), topic="campaign:night",
                                                  kind="marketing"))
    assert (record.status, record.reason) == ("deferred", "quiet_hours")
    clock.set(datetime(2026, 1, 16, 8, 59, tzinfo=MALL_TZ))
    assert await services.pushes.wake_due() == 0
    clock.set(datetime(2026, 1, 16, 9, 0, tzinfo=MALL_TZ))
    assert await services.pushes.wake_due() == 1
    woken = await services.pushes.record(member.member_id, record.push_id)
    assert (woken.status, woken.channel) == ("queued", "custom")


async def test_an_inbox_push_expires_at_not_after(services, clock):
    [member] = await followers(services, 1)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), hours=2))
    clock.advance(hours=2)
    assert await services.pushes.wake_due() == 1
    assert (await services.pushes.record(member.member_id, record.push_id)).status == "expired"


async def test_a_crash_between_recording_and_queueing_is_repaired_by_the_watchdog(services, redis, clock):
    [member] = await followers(services, 1)
    push = text_push(member.member_id, clock.now(), template=POINTS_NOTICE)
    store, queue = services.pushes._store, services.push_queue
    await queue.watch(member.member_id, push.push_id, clock.now() + timedelta(minutes=1))
    facts, _ = await store.situation(push, clock.now())
    from loyalty_core.push.planner import plan
    await store.apply(push, plan(push, facts, clock.now(), services.pushes.policy), 0, clock.now(),
                      services.pushes.policy)       # ... and the process died before the outbox entry
    assert await stream_entries(redis, services) == []
    clock.advance(minutes=1)
    assert await services.pushes.wake_due() == 1
    assert await stream_entries(redis, services) == [{"m": member.member_id, "p": push.push_id, "a": "1", "c": "template"}]
    assert await services.push_queue.due_count() == 0


async def test_a_mark_older_than_the_call_timeout_is_in_doubt_unless_its_kind_is_sent_again(redis, clock):
    for policy, expected in ((PushPolicy(), "in_doubt"), (PushPolicy(resend_in_doubt=frozenset({"service"})), "send")):
        await redis.flushdb()
        services = push_services(redis, clock, policy)
        [member] = await followers(services, 1)
        record = await services.pushes.plan(text_push(member.member_id, clock.now(), template=POINTS_NOTICE))
        timeout = timedelta(seconds=30)
        assert (await services.pushes.begin(member.member_id, record.push_id, 1, timeout)).action == "send"
        assert (await services.pushes.begin(member.member_id, record.push_id, 1, timeout)).action == "busy"
        clock.advance(seconds=31)
        assert (await services.pushes.begin(member.member_id, record.push_id, 1, timeout)).action == expected
    assert await services.push_queue.in_doubt() == []


async def test_a_push_in_doubt_is_listed(services, clock):
    [member] = await followers(services, 1)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), template=POINTS_NOTICE))
    await services.pushes.begin(member.member_id, record.push_id, 1, timedelta(seconds=30))
    clock.advance(minutes=1)
    begun = await services.pushes.begin(member.member_id, record.push_id, 1, timedelta(seconds=30))
    assert begun.action == "in_doubt"
    assert await services.push_queue.in_doubt() == [(member.member_id, record.push_id)]
    assert (await services.pushes.deliveries(member.member_id))[0].status == "in_doubt"


async def test_an_outbox_entry_of_an_earlier_attempt_is_only_acknowledged(services, clock):
    [member] = await followers(services, 1)
    await message_window(services, member)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), template=POINTS_NOTICE))
    begun = await services.pushes.begin(member.member_id, record.push_id, 1, timedelta(seconds=30))
    await services.pushes.finish(begun.record, Outcome("planned", "window_used_up", close_window=True))
    replanned = await services.pushes.record(member.member_id, record.push_id)
    assert (replanned.status, replanned.channel, replanned.attempt) == ("queued", "template", 2)
    assert (await services.pushes.begin(member.member_id, record.push_id, 1, timedelta(seconds=30))).action == "ack"
    assert (await services.pushes.begin(member.member_id, record.push_id, 2, timedelta(seconds=30))).action == "send"


async def test_a_decision_on_stale_facts_is_refused_and_writes_nothing(services, redis, clock):
    [member] = await followers(services, 1)
    await message_window(services, member)
    store, policy = services.pushes._store, services.pushes.policy
    late = text_push(member.member_id, clock.now(), topic="campaign:late", kind="marketing")
    facts, _ = await store.situation(late, clock.now())                     # read before the other push is queued
    await services.pushes.plan(text_push(member.member_id, clock.now(), topic="campaign:early", kind="marketing"))
    from loyalty_core.push.planner import plan
    decision = plan(late, facts, clock.now(), policy)
    assert decision.status == "queued"
    assert await store.apply(late, decision, 0, clock.now(), policy) is None
    assert await redis.zscore(keys.member_push_dedup(member.member_id), "campaign:late") is None
    assert (await services.pushes.plan(late)).status == "deferred"


async def test_a_push_that_waited_in_the_outbox_past_not_after_expires_instead_of_going_out(services, clock):
    [member] = await followers(services, 1)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), hours=1, template=POINTS_NOTICE))
    clock.advance(hours=1)
    begun = await services.pushes.begin(member.member_id, record.push_id, 1, timedelta(seconds=30))
    assert (begun.action, begun.record.status) == ("expired", "expired")


async def test_a_push_set_aside_by_a_sender_that_then_died_is_planned_again_by_the_next(services, clock):
    [member] = await followers(services, 1)
    await message_window(services, member)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), template=POINTS_NOTICE))
    await services.pushes.window_refused(member.member_id)
    store, timeout = services.pushes._store, timedelta(seconds=30)
    set_aside = await store.begin(member.member_id, record.push_id, 1, clock.now(), timeout, services.pushes.policy)
    assert (set_aside.action, set_aside.record.status) == ("replan", "planned")     # … and its process died here
    again = await services.pushes.begin(member.member_id, record.push_id, 1, timeout)   # the entry, reclaimed
    assert again.action == "replan"
    replanned = await services.pushes.record(member.member_id, record.push_id)
    assert (replanned.status, replanned.channel, replanned.attempt) == ("queued", "template", 2)


async def test_two_plans_of_one_push_at_once_queue_it_once(services, redis, clock):
    [member] = await followers(services, 1)
    push = text_push(member.member_id, clock.now(), template=POINTS_NOTICE)
    records = await asyncio.gather(*(services.pushes.plan(push) for _ in range(5)))
    assert {(r.status, r.attempt) for r in records} == {("queued", 1)}
    assert len(await stream_entries(redis, services)) == 1
    assert [s.status for s in await services.pushes.deliveries(member.member_id)] == ["queued"]
