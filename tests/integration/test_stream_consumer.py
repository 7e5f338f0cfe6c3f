"""The outbox stream consumer: handled once per event_id, acknowledged after handling, stale entries
re-claimed from a consumer that stopped, poison entries dead-lettered, trimmed entries and consumers of
stopped processes forgotten."""
from __future__ import annotations

import asyncio
import struct

import orjson
import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from loyalty_core import keys
from loyalty_core.redis_store.connection import connect
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


async def test_stale_entries_behind_a_long_run_of_fresh_ones_are_reclaimed(redis):
    """XAUTOCLAIM looks at ten times COUNT pending entries a call: a call that finds only fresh entries
    claims nothing, yet its cursor says more remain."""
    for n in range(12):
        last = await publish(redis, f"first_purchase:{n}", "first_purchase", txn_id=f"T{n}")
    await consumer(redis, "busy", Recorder()).ensure_group()
    await redis.xreadgroup(GROUP, "busy", {keys.OUTBOX_STREAM: ">"})         # all twelve pending, just delivered
    await redis.xclaim(keys.OUTBOX_STREAM, GROUP, "busy", 0, [last], idle=2 * 3_600_000)   # only the last is stale
    recorder = Recorder()
    report = await consumer(redis, "rescuer", recorder, claim_idle_ms=3_600_000, batch=1).step()
    assert report.handled == 1 and recorder.seen == ["first_purchase:11"] and await pending_count(redis) == 11


async def test_an_entry_trimmed_from_the_stream_while_pending_is_dropped_with_its_failure_count(redis):
    entry_id = await publish(redis, "first_purchase:7", "first_purchase", txn_id="T7")
    await publish(redis, "first_purchase:8", "first_purchase", txn_id="T8")
    crashed = consumer(redis, "crashed", Recorder({"first_purchase:7": 1, "first_purchase:8": 1}))
    assert (await crashed.step()).failed == 2
    await redis.xdel(keys.OUTBOX_STREAM, entry_id)                              # trimmed meanwhile
    recorder = Recorder()
    assert (await consumer(redis, "rescuer", recorder, claim_idle_ms=0).step()).handled == 1
    assert recorder.seen == ["first_purchase:8"] and await pending_count(redis) == 0
    assert await redis.hgetall(keys.stream_attempts(keys.OUTBOX_STREAM, GROUP)) == {}


async def commands_sent(redis, work) -> list[str]:
    """The commands the Redis holding the outbox stream (on a cluster: its node) executed on this test's
    database while `work` ran (seen through MONITOR)."""
    node, marker = stream_node(redis), "end-of-the-work"
    db = node.connection_pool.connection_kwargs.get("db", 0)
    try:
        async with node.monitor() as monitor:
            await work()
            await node.echo(marker)
            commands = []
            while (seen := await monitor.next_command())["command"] != f"ECHO {marker}":
                if seen["db"] == db:
                    commands.append(seen["command"])
    finally:
        if node is not redis:
            await node.aclose()
    return commands


def stream_node(redis):
    if not isinstance(redis, RedisCluster):
        return redis
    node = redis.get_node_from_key(keys.OUTBOX_STREAM)
    return aioredis.Redis(host=node.host, port=node.port, decode_responses=True)


async def test_events_of_types_the_group_does_not_handle_are_acknowledged_in_one_xack_a_batch(redis):
    for n in range(5):
        await publish(redis, f"points_earned:{n}", "points_earned")
    await publish(redis, "first_purchase:10", "first_purchase", txn_id="T10")
    recorder = Recorder()
    worker = consumer(redis, "c1", recorder)
    await worker.ensure_group()
    commands = await commands_sent(redis, worker.step)
    assert [c.split()[0] for c in commands].count("XACK") == 2                 # the five at once, then the one
    assert recorder.seen == ["first_purchase:10"] and await pending_count(redis) == 0


async def age_consumer(redis_url: str, name: str, idle_ms: int) -> None:
    """Make the group's consumer `name` look idle for `idle_ms`: the stream is dumped, the consumer's
    last-seen time (8 bytes after its name in the dump) moved back, and the stream restored."""
    binary = connect(redis_url, decode_responses=False)
    try:
        dump = await binary.dump(keys.OUTBOX_STREAM)
        at = dump.index(name.encode()) + len(name)
        seen_ms = struct.unpack("<q", dump[at:at + 8])[0]
        body = dump[:at] + struct.pack("<q", seen_ms - idle_ms) + dump[at + 8:-8]
        await binary.restore(keys.OUTBOX_STREAM, 0, body + struct.pack("<Q", crc64(body)), replace=True)
    finally:
        await binary.aclose()


def crc64(data: bytes) -> int:
    """Redis's CRC-64 (Jones polynomial, reflected), the checksum at the end of a DUMP."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x95AC9329AC4BC9B5 if crc & 1 else 0)
    return crc


async def test_on_start_consumers_idle_for_over_a_day_and_holding_nothing_are_forgotten(redis, redis_url):
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    await publish(redis, "first_purchase:11", "first_purchase", txn_id="T11")
    await consumer(redis, "setup", Recorder()).ensure_group()
    await redis.xgroup_delconsumer(keys.OUTBOX_STREAM, GROUP, "setup")
    for name in ("host-a-17", "host-b-18", "host-c-19"):
        await redis.xgroup_createconsumer(keys.OUTBOX_STREAM, GROUP, name)
    await redis.xreadgroup(GROUP, "host-b-18", {keys.OUTBOX_STREAM: ">"})     # it holds an entry
    await age_consumer(redis_url, "host-a-17", 2 * 86_400_000)                 # stopped two days ago
    await age_consumer(redis_url, "host-b-18", 2 * 86_400_000)
    ages = {c["name"]: c["idle"] for c in await redis.xinfo_consumers(keys.OUTBOX_STREAM, GROUP)}
    assert ages["host-a-17"] > 86_400_000 and ages["host-c-19"] < 86_400_000
    await consumer(redis, "host-d-20", Recorder()).step()
    names = {c["name"] for c in await redis.xinfo_consumers(keys.OUTBOX_STREAM, GROUP)}
    assert names - {"host-d-20"} == {"host-b-18", "host-c-19"}
    assert await pending_count(redis) == 1
