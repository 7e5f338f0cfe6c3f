"""Relays domain events from each member's outbox hash to the global stream the push side reads.

A member script writes its events into ``{m:<id>}:outbox`` in the same atomic step as the state
change (one slot). The service then copies them to ``outbox:events`` and deletes them. A member is
marked dirty *before* its script runs, so events of a process that died in between are found by
`sweep()`. Delivery to the stream is at least once; consumers deduplicate by ``event_id``.

A single step marks the member itself (``<member_id>``) and leaves the mark to the sweep. A batch of members'
steps marks each with a mark of the batch's own (``<member_id>|<batch>``) and removes those marks once it has
relayed what its scripts answered: a campaign to a million members leaves no million marks for the sweep to
walk, and no other step's mark of the same member is touched.
"""
from __future__ import annotations

import secrets
from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms
from .batching import pipelined
from .scripts import Scripts

STREAM_MAXLEN = 1_000_000


class Outbox:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    def mark_dirty(self, pipe, member_id: str, now: datetime) -> None:
        """Queue the dirty mark on a pipeline the caller sends before the member's script."""
        pipe.zadd(keys.OUTBOX_DIRTY, {member_id: epoch_ms(now)})

    async def mark(self, member_id: str, now: datetime) -> None:
        await self._scripts.batcher.call("ZADD", keys.OUTBOX_DIRTY, epoch_ms(now), member_id)

    async def mark_many(self, member_ids: list[str], now: datetime) -> list[str]:
        """Mark a batch's members before their scripts run, each by a mark of this batch's own; returns the
        marks, for `relay_emitted` to remove."""
        batch = secrets.token_hex(6)
        marks = [f"{member_id}|{batch}" for member_id in member_ids]
        if marks:
            at = epoch_ms(now)
            await self._redis.execute_command("ZADD", keys.OUTBOX_DIRTY, *(p for mark in marks for p in (at, mark)))
        return marks

    async def relay_emitted(self, emitted: list[tuple[str, str, str, str]], marks: list[str]) -> None:
        """Relay the events a batch of member scripts answered with, each (member_id, event_id, type, event JSON),
        without reading the outboxes back, then remove the batch's marks (`mark_many`): what the batch's scripts
        stored is relayed. Whatever else an outbox holds (an earlier attempt's, cut short) stays for `sweep`,
        under the marks of the step that stored it."""
        commands: list[tuple] = []
        for member_id, event_id, event_type, body in emitted:
            commands += [_stream_add(event_id, event_type, body), ("HDEL", keys.member_outbox(member_id), event_id)]
        await pipelined(self._redis, commands)
        if marks:
            await self._redis.execute_command("ZREM", keys.OUTBOX_DIRTY, *marks)

    async def relay(self, member_id: str) -> int:
        """Copy the member's pending events to the stream; returns how many were relayed."""
        pending = await self._redis.hgetall(keys.member_outbox(member_id))
        if not pending:
            return 0
        await pipelined(self._redis, [*_stream_adds(pending), ("HDEL", keys.member_outbox(member_id), *pending.keys())])
        return len(pending)

    async def sweep(self, now: datetime, older_than_ms: int = 10_000, batch: int = 500) -> int:
        """Relay what crashed processes left behind and clear old dirty marks, a batch at a time until none
        older than the cutoff is left (every operation marks its member, so one batch a round would fall
        behind for good as soon as more members change per round than a batch holds). Returns events relayed."""
        cutoff = epoch_ms(now) - older_than_ms
        relayed = 0
        while True:
            marks = await self._redis.zrangebyscore(keys.OUTBOX_DIRTY, "-inf", cutoff, start=0, num=batch)
            for mark in marks:
                relayed += await self.relay(marked_member(mark))
                # Unmark only if no newer operation marked the member meanwhile (then it is past the cutoff).
                await self._scripts.run("zset_unmark", [keys.OUTBOX_DIRTY], [mark, cutoff])
            if len(marks) < batch:
                return relayed

    async def read(self, count: int = 100, after: str = "0-0") -> list[dict]:
        """Events in the stream after a stream id (for tests and the push side)."""
        entries = await self._redis.xrange(keys.OUTBOX_STREAM, min=f"({after}" if after != "0-0" else "-",
                                           count=count)
        return [orjson.loads(fields["event"]) | {"stream_id": sid} for sid, fields in entries]


def marked_member(mark: str) -> str:
    """The member a dirty mark is of: the member's own mark, or a batch's (`mark_many`)."""
    return mark.split("|", 1)[0]


def event_body(event_id: str, event_type: str, member_id: str, occurred_at: str, data: dict) -> bytes:
    """A domain event as a member script stores it in the outbox (the same fields as `emit` in _prelude.lua), for a
    script that is handed its event whole."""
    return orjson.dumps({"event_id": event_id, "type": event_type, "version": 1, "member_id": member_id,
                         "occurred_at": occurred_at, "data": data})


def _stream_adds(pending: dict[str, str]) -> list[tuple]:
    """The XADDs of a member's pending events to the stream, oldest first."""
    events = sorted(((orjson.loads(body), event_id, body) for event_id, body in pending.items()),
                    key=lambda item: item[0].get("occurred_at", ""))
    return [_stream_add(event_id, event["type"], body) for event, event_id, body in events]


def _stream_add(event_id: str, event_type: str, body: str) -> tuple:
    return ("XADD", keys.OUTBOX_STREAM, "MAXLEN", "~", STREAM_MAXLEN, "*", "event_id", event_id, "type", event_type,
            "event", body)
