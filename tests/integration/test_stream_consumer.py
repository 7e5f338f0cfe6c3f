"""The outbox stream consumer: handled once per event_id, acknowledged after handling, stale entries
re-claimed from a consumer that stopped, poison entries dead-lettered."""
from __future__ import annotations

import asyncio

import orjson
import pytest

from loyalty_core import keys
from loyalty_core.redis_store.stream_consumer import StreamConsumer

GROUP = "test-group"


async def publish(redis, event_id: str, event_type: str, **data) -> str:
    event = {"event_id": event_id, "type": event_type, "version": 1, "member_id": "100001",
             "occurred_at": "2026-01-15T10:00:00+08:00", "data": data}
    return await redis.xadd(keys.OUTBOX_STREAM, {"event_id": event_id, "type": event_type,
                                                 "event": orjson.dumps(event)})


class Recorder:
    """A handler that records the events it handled, and fails as often as told for given events."""

    def __init__(self, failures: dict[str, int] | None = None):
        self.seen: list[str] = []
        self.failures = dict(failures or {})

    async def __call__(self, event: dict) -> None:
        if self.failures.get(event["event_id"], 0) > 0:
            self.failures[event["event_id"]] -= 1
            raise RuntimeError("the handler failed")
        self.seen.append(event["event_id"])


def consumer(redis, name: str, recorder: Recorder, **options) -> StreamConsumer:
    return StreamConsumer(redis, GROUP, name, {"first_purchase": recorder}, **options)


async def pending_count(redis) -> int:
    return (await redis.xpending(keys.OUTBOX_STREAM, GROUP))["pending"]


async def test_events_are_handled_once_each_and_acknowledged(redis):
    recorder = Recorder()
    worker = consumer(redis, "c1", recorder)
    await publish(redis, "first_purchase:1", "first_purchase", txn_id="T1")
    await publish(redis, "points_earned:1:T1", "points_earned")
    await publish(redis, "first_purchase:1", "first_purchase", txn_id="T1")     # the relay delivered it twice
    report = await worker.drain()
    assert (report.handled, report.skipped, report.failed) == (1, 2, 0)
    assert recorder.seen == ["first_purchase:1"] and await pending_count(redis) == 0
    await publish(redis, "first_purchase:2", "first_purchase", txn_id="T2")
    assert (await worker.step()).handled == 1 and recorder.seen[-1] == "first_purchase:2"


async def test_events_published_before_the_group_existed_are_not_missed(redis):
    await publish(redis, "first_purchase:9", "first_purchase", txn_id="T9")
    recorder = Recorder()
    await consumer(redis, "late", recorder).drain()
    assert recorder.seen == ["first_purchase:9"]


async def test_an_entry_left_pending_by_a_stopped_consumer_is_reclaimed_by_another(redis):
    await publish(redis, "first_purchase:3", "first_purchase", txn_id="T3")
    crashed = consumer(redis, "crashed", Recorder({"first_purchase:3": 1}))
    assert (await crashed.step()).failed == 1 and await pending_count(redis) == 1
    patient = consumer(redis, "patient", Recorder(), claim_idle_ms=3_600_000)
    assert (await patient.step()).seen == 0                                 # not stale yet: left alone
    rescuer_recorder = Recorder()
    rescuer = consumer(redis, "rescuer", rescuer_recorder, claim_idle_ms=0)
    assert (await rescuer.step()).handled == 1
    assert rescuer_recorder.seen == ["first_purchase:3"] and await pending_count(redis) == 0


async def test_an_entry_that_keeps_failing_goes_to_the_dead_letters(redis):
    entry_id = await publish(redis, "first_purchase:4", "first_purchase", txn_id="T4")
    await publish(redis, "first_purchase:5", "first_purchase", txn_id="T5")
    recorder = Recorder({"first_purchase:4": 3})
    worker = consumer(redis, "c1", recorder, claim_idle_ms=0, max_attempts=3)
    for _ in range(3):
        await worker.step()
    assert recorder.seen == ["first_purchase:5"] and await pending_count(redis) == 0
    [(_, dead)] = await redis.xrange(keys.stream_dead_letters(keys.OUTBOX_STREAM, GROUP))
    assert dead["entry_id"] == entry_id and dead["error"] == "RuntimeError" and dead["type"] == "first_purchase"


async def test_consumers_starting_together_share_one_group_and_handle_each_event_once(redis):
    for n in range(20):
        await publish(redis, f"first_purchase:{n}", "first_purchase", txn_id=f"T{n}")
    recorders = [Recorder() for _ in range(4)]
    workers = [consumer(redis, f"c{n}", recorder) for n, recorder in enumerate(recorders)]
    await asyncio.gather(*(worker.step() for worker in workers))          # each creates the group
    await asyncio.gather(*(worker.drain() for worker in workers))
    handled = [event_id for recorder in recorders for event_id in recorder.seen]
    assert sorted(handled) == sorted(f"first_purchase:{n}" for n in range(20)) and await pending_count(redis) == 0


async def test_a_deleted_stream_is_picked_up_again(redis):
    recorder = Recorder()
    worker = consumer(redis, "c1", recorder)
    await worker.drain()
    await redis.delete(keys.OUTBOX_STREAM)
    assert (await worker.step()).seen == 0
    await publish(redis, "first_purchase:6", "first_purchase", txn_id="T6")
    await worker.drain()
    assert recorder.seen == ["first_purchase:6"]


@pytest.mark.parametrize("block_ms", [None, 10])
async def test_a_step_with_nothing_to_do_returns_empty(redis, block_ms):
    assert (await consumer(redis, "idle", Recorder()).step(block_ms=block_ms)).seen == 0
