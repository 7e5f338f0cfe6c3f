"""The push side's cross-member structures: the outbox streams (partitioned by member, one consumer group),
the due index, the list of pushes in doubt and the counters per kind, topic, channel and outcome.

Streams: `push:{p}` for p in 0..P-1, each in its own cluster slot; a member always hashes to the same
partition (so its pushes keep their order). An entry is {m: member_id, p: push_id, a: attempt, c: channel};
the record in the member's slot says whether it is still current. Entries are acknowledged and deleted once their push has
an outcome (a backlog is never trimmed away). P may grow, never shrink, while entries are pending.

Counters are kept in Redis, not in the process: any number of senders and `serve` processes add to the
same numbers, which outlive restarts, and serve's /metrics exports them (see bot/push_metrics.py). They
are buffered in the process and written by `flush_counts` (every second in the sender): a process killed
outright loses at most its unwritten second; the members' delivery logs are exact.
"""
from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .. import keys
from ..clock import epoch_ms
from ..push.model import QUEUED, PushRecord
from .batching import pipelined
from .scripts import Scripts


@dataclass(frozen=True, slots=True)
class Entry:
    """One outbox entry as a sender reads it."""
    partition: int
    entry_id: str
    member_id: str
    push_id: str
    attempt: int
    channel: str


def topic_family(topic: str) -> str:
    """`campaign:42` -> `campaign`: what Prometheus labels carry (a label per campaign would grow without end)."""
    return topic.split(":", 1)[0]


class RedisPushQueue:
    def __init__(self, redis: Redis, scripts: Scripts, partitions: int = 8):
        if partitions < 1:
            raise ValueError("partitions: at least 1")
        self._redis = redis
        self._scripts = scripts
        self._call = scripts.batcher.call      # commands of concurrent steps share a round trip
        self.partitions = partitions
        self._counts: Counter[tuple[str, str, str, str]] = Counter()

    def partition_of(self, member_id: str) -> int:
        return zlib.crc32(member_id.encode()) % self.partitions

    # -- the outbox streams ---------------------------------------------------------------------------------
    async def enqueue(self, record: PushRecord) -> None:
        await self._call(*self._xadd(record))

    async def settle_many(self, records: list[PushRecord]) -> None:
        """After a batch's member steps, in one pipeline: the queued ones to their outbox streams, then each push's
        due entry set to its wake-up, or removed when it has none (`enqueue`, then `watch` or `unwatch`)."""
        commands: list[tuple] = [self._xadd(record) for record in records if record.status == QUEUED]
        wakes: dict[str, list] = {}
        settled: dict[str, list] = {}
        for r in records:
            item, wake = _member_push(r.member_id, r.push_id), r.wake_at()
            if wake:
                wakes.setdefault(_due_key(r.member_id), []).extend((epoch_ms(wake), item))
            else:
                settled.setdefault(_due_key(r.member_id), []).append(item)
        commands += [("ZADD", index, *parts) for index, parts in wakes.items()]
        commands += [("ZREM", index, *items) for index, items in settled.items()]
        await pipelined(self._redis, commands)

    def _xadd(self, record: PushRecord) -> tuple:
        return ("XADD", keys.push_stream(self.partition_of(record.member_id)), "*", "m", record.member_id,
                "p", record.push_id, "a", record.attempt, "c", record.channel)

    async def ensure_groups(self) -> None:
        for partition in range(self.partitions):
            try:
                await self._redis.xgroup_create(keys.push_stream(partition), keys.PUSH_SENDERS, id="0",
                                                mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    async def read(self, consumer: str, partition: int, count: int, block_ms: int | None = None) -> list[Entry]:
        answer = await self._redis.xreadgroup(keys.PUSH_SENDERS, consumer, {keys.push_stream(partition): ">"},
                                              count=count, block=block_ms)
        return [_entry(partition, entry_id, fields) for _, entries in answer or [] for entry_id, fields in entries
                if fields]

    async def reclaim(self, consumer: str, partition: int, min_idle_ms: int, count: int = 500) -> list[Entry]:
        """Entries another (dead or stuck) sender has held for longer than min_idle_ms, through the whole pending
        list. Entries deleted meanwhile are dropped from it."""
        stream, start, claimed = keys.push_stream(partition), "0-0", []
        while True:
            answer = await self._redis.xautoclaim(stream, keys.PUSH_SENDERS, consumer, min_idle_ms, start_id=start,
                                                  count=count)
            start, found = answer[0], answer[1]
            claimed += [_entry(partition, entry_id, fields) for entry_id, fields in found if fields]
            vanished = [entry_id for entry_id, fields in found if not fields] + list(answer[2:3] and answer[2])
            if vanished:
                await self._redis.xack(stream, keys.PUSH_SENDERS, *vanished)
            if start in ("0-0", b"0-0"):
                return claimed

    async def ack(self, entries: list[Entry]) -> None:
        """Done with these entries: acknowledged and deleted, with the counts buffered so far."""
        by_partition: dict[int, list[str]] = {}
        for entry in entries:
            by_partition.setdefault(entry.partition, []).append(entry.entry_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition, entry_ids in by_partition.items():
                pipe.xack(keys.push_stream(partition), keys.PUSH_SENDERS, *entry_ids)
                pipe.xdel(keys.push_stream(partition), *entry_ids)
            self._queue_counts(pipe)
            await pipe.execute()

    async def pending(self) -> int:
        """Entries read by some sender and not yet acknowledged, in all partitions."""
        total = 0
        for partition in range(self.partitions):
            try:
                total += (await self._redis.xpending(keys.push_stream(partition), keys.PUSH_SENDERS))["pending"]
            except ResponseError:    # no such stream or group yet
                pass
        return total

    async def backlog(self) -> int:
        """Entries in all partitions, read or not."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in range(self.partitions):
                pipe.xlen(keys.push_stream(partition))
            return sum(await pipe.execute())

    # -- the due index -------------------------------------------------------------------------------------
    async def watch(self, member_id: str, push_id: str, at: datetime) -> None:
        await self._call("ZADD", _due_key(member_id), epoch_ms(at), _member_push(member_id, push_id))

    async def watch_many(self, pushes: list[tuple[str, str]], at: datetime) -> None:
        """`watch` of each (member_id, push_id), a command per partition of the due index, in one pipeline."""
        at_ms, by_index = epoch_ms(at), {}
        for member_id, push_id in pushes:
            by_index.setdefault(_due_key(member_id), []).extend((at_ms, _member_push(member_id, push_id)))
        await pipelined(self._redis, [("ZADD", index, *parts) for index, parts in by_index.items()])

    async def unwatch(self, member_id: str, push_id: str) -> None:
        await self._call("ZREM", _due_key(member_id), _member_push(member_id, push_id))

    async def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """The `limit` pushes due earliest, over every partition of the due index."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in range(keys.PUSH_DUE_PARTITIONS):
                pipe.zrangebyscore(keys.push_due(partition), "-inf", epoch_ms(now), start=0, num=limit,
                                   withscores=True)
            found = [entry for part in await pipe.execute() for entry in part]
        found.sort(key=lambda entry: (entry[1], entry[0]))
        return [tuple(item.split("|", 1)) for item, _ in found[:limit]]

    async def due_count(self) -> int:
        """Entries in the due index, due or not."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in range(keys.PUSH_DUE_PARTITIONS):
                pipe.zcard(keys.push_due(partition))
            return sum(await pipe.execute())

    async def settle_due(self, member_id: str, push_id: str, cutoff: datetime) -> None:
        await self._scripts.run("zset_unmark", [_due_key(member_id)],
                                [_member_push(member_id, push_id), epoch_ms(cutoff)])

    # -- pushes in doubt ------------------------------------------------------------------------------------
    async def list_in_doubt(self, record: PushRecord, now: datetime) -> None:
        await self._redis.zadd(keys.PUSH_IN_DOUBT, {_member_push(record.member_id, record.push_id): epoch_ms(now)},
                               nx=True)

    async def in_doubt(self, limit: int = 1000) -> list[tuple[str, str]]:
        """Pushes whose outcome is unknown (their sender died mid-call), oldest first."""
        found = await self._redis.zrange(keys.PUSH_IN_DOUBT, 0, limit - 1)
        return [tuple(item.split("|", 1)) for item in found]

    async def in_doubt_count(self) -> int:
        return await self._redis.zcard(keys.PUSH_IN_DOUBT)

    # -- counters ---------------------------------------------------------------------------------------------
    def count(self, record: PushRecord, outcome: str) -> None:
        push = record.push
        self._counts[(push.kind, push.topic, record.channel or "none", outcome)] += 1

    async def flush_counts(self) -> None:
        if self._counts:
            await asyncio.gather(*(self._call(*command) for command in self._count_commands()))

    def _queue_counts(self, pipe) -> None:
        for command in self._count_commands():
            pipe.execute_command(*command)

    def _count_commands(self) -> list[tuple]:
        counts, self._counts = self._counts, Counter()
        commands = []
        for (kind, topic, channel, outcome), n in counts.items():
            commands.append(("HINCRBY", keys.PUSH_COUNTS, f"{kind}|{topic_family(topic)}|{channel}|{outcome}", n))
            commands.append(("HINCRBY", keys.push_topic_counts(topic), f"{channel}|{outcome}", n))
        return commands

    async def counts(self) -> dict[tuple[str, str, str, str], int]:
        """(kind, topic family, channel, outcome) -> pushes, across every process."""
        raw = await self._redis.hgetall(keys.PUSH_COUNTS)
        return {tuple(field.split("|", 3)): int(n) for field, n in raw.items()}

    async def topic_counts(self, topic: str) -> dict[tuple[str, str], int]:
        """(channel, outcome) -> pushes of one topic, e.g. a campaign's results."""
        raw = await self._redis.hgetall(keys.push_topic_counts(topic))
        return {tuple(field.split("|", 1)): int(n) for field, n in raw.items()}


def _member_push(member_id: str, push_id: str) -> str:
    return f"{member_id}|{push_id}"


def _entry(partition: int, entry_id: str, fields: dict) -> Entry:
    return Entry(partition, entry_id, fields["m"], fields["p"], int(fields["a"]), fields["c"])


def _due_key(member_id: str) -> str:
    return keys.push_due(zlib.crc32(member_id.encode()) % keys.PUSH_DUE_PARTITIONS)
