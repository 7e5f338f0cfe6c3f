"""A consumer group on the outbox stream: each domain event handled at least once, in effect once.

- `step()` handles what is due now: entries a dead or stuck consumer left pending for longer than
  `claim_idle_ms` (re-claimed with XAUTOCLAIM, through the whole pending list), then new entries
  (XREADGROUP `>`). Tests call it step by step; `run(stop)` loops it with a blocking read, as a
  background task of a process.
- Entries the stream's trimming removed while they were pending are dropped from the pending list and
  their failure counts forgotten; entries of types the group does not handle are acknowledged at once,
  one XACK per batch.
- On start the group forgets consumers that hold nothing and have been idle for `forget_idle_ms` (a
  day): processes name their consumer after themselves, so each restart leaves an old name behind.
- An entry is acknowledged (XACK) only after its handler returned; an event_id already handled is
  skipped (the relay delivers at least once, so one event may sit in the stream twice), and handlers
  are idempotent by their own natural keys too.
- A handler that fails leaves its entry pending, to be re-claimed later; after `max_attempts` failures
  the entry is moved to the group's dead-letter stream and acknowledged, so one bad event cannot
  block the others. Logs name event types and entry ids only, never an event's data.
- `run` rides out a Redis outage: it tries again every `pause_after_error` seconds and logs the outage
  once, and once more when Redis is back.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .. import keys
from .connection import UNAVAILABLE, OutageLog
from .scripts import Scripts

log = logging.getLogger("loyalty_core.stream_consumer")

EventHandler = Callable[[dict], Awaitable[None]]
DONE_TTL_SECONDS = 14 * 86400
DEAD_MAXLEN = 100_000
FORGET_IDLE_MS = 86_400_000


@dataclass(frozen=True)
class StepReport:
    handled: int = 0        # entries whose handler ran and returned
    skipped: int = 0        # entries of other types, or events already handled
    failed: int = 0         # left pending (or dead-lettered) after an error

    def __add__(self, other: "StepReport") -> "StepReport":
        return StepReport(self.handled + other.handled, self.skipped + other.skipped, self.failed + other.failed)

    @property
    def seen(self) -> int:
        return self.handled + self.skipped + self.failed


class StreamConsumer:
    def __init__(self, redis: Redis, group: str, consumer: str, handlers: Mapping[str, EventHandler], *,
                 stream: str = keys.OUTBOX_STREAM, claim_idle_ms: int = 60_000, max_attempts: int = 5,
                 batch: int = 100, forget_idle_ms: int = FORGET_IDLE_MS):
        self._redis = redis
        self._scripts = Scripts(redis)
        self.group = group
        self.consumer = consumer
        self._handlers = dict(handlers)
        self.stream = stream
        self.claim_idle_ms = claim_idle_ms
        self.max_attempts = max_attempts
        self.batch = batch
        self.forget_idle_ms = forget_idle_ms
        self._group_ready = False
        self.outage = OutageLog(log, f"consumer {group}")

    async def ensure_group(self) -> None:
        """Create the group (reading from the stream's start, so no earlier event is missed) once, and
        forget the consumers that stopped long ago."""
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        await self._forget_stopped_consumers()
        self._group_ready = True

    async def _forget_stopped_consumers(self) -> None:
        """Tidying only: a failure is logged and the consumer carries on."""
        try:
            result = await self._scripts.run("stream_forget_consumers", [self.stream],
                                             [self.group, self.forget_idle_ms])
        except ResponseError as error:
            log.warning("consumer %s: idle consumers not forgotten (%s)", self.group, type(error).__name__)
            return
        if result["forgotten"]:
            log.info("consumer %s: forgot %d idle consumers", self.group, result["forgotten"])

    async def step(self, block_ms: int | None = None) -> StepReport:
        """Handle the stale pending entries, then one batch of new entries."""
        await self.ensure_group()
        try:
            report = await self._reclaim()
            entries = await self._redis.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                                   count=self.batch, block=block_ms)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._group_ready = False       # the stream was deleted: start again
            return StepReport()
        for _, stream_entries in entries or []:
            report += await self._handle_all(stream_entries)
        return report

    async def drain(self, max_steps: int = 1000) -> StepReport:
        """Steps until nothing new is left (tests, and catching up at start)."""
        total = StepReport()
        for _ in range(max_steps):
            report = await self.step()
            total += report
            if report.seen == 0:
                break
        return total

    async def run(self, stop: asyncio.Event, block_ms: int = 1000, pause_after_error: float = 1.0) -> None:
        while not stop.is_set():
            try:
                await self.step(block_ms=block_ms)
            except asyncio.CancelledError:
                raise
            except UNAVAILABLE as error:
                self.outage.failed(error)
                await asyncio.sleep(pause_after_error)
            except Exception as error:  # noqa: BLE001 - keep the loop alive
                log.warning("consumer %s: step failed (%s)", self.group, type(error).__name__)
                await asyncio.sleep(pause_after_error)
            else:
                self.outage.succeeded()

    async def _reclaim(self) -> StepReport:
        """Every stale pending entry: XAUTOCLAIM looks at a bounded number of entries per call, so a call
        may claim nothing while more remain; only the cursor "0-0" says the pending list is done."""
        report, start = StepReport(), "0-0"
        while True:
            answer = await self._redis.xautoclaim(self.stream, self.group, self.consumer, self.claim_idle_ms,
                                                  start_id=start, count=self.batch)
            start, claimed = answer[0], answer[1]
            if len(answer) > 2 and answer[2]:          # entries trimmed from the stream (Redis 7 lists them)
                await self._acknowledge(list(answer[2]))
            report += await self._handle_all([entry for entry in claimed if entry and entry[1]])
            if start in ("0-0", b"0-0"):
                await self._drop_vanished()
                return report

    async def _drop_vanished(self) -> None:
        """Redis 6.2's XAUTOCLAIM leaves entries trimmed from the stream pending: drop those of ours."""
        pending = await self._redis.xpending_range(self.stream, self.group, "-", "+", self.batch,
                                                   consumername=self.consumer)
        if not pending:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for item in pending:
                pipe.xrange(self.stream, item["message_id"], item["message_id"])
            found = await pipe.execute()
        vanished = [item["message_id"] for item, entries in zip(pending, found) if not entries]
        if vanished:
            await self._acknowledge(vanished)

    async def _handle_all(self, entries: list) -> StepReport:
        unhandled = [entry_id for entry_id, fields in entries if self._handler_of(fields) is None]
        if unhandled:
            await self._acknowledge(unhandled)
        report = StepReport(skipped=len(unhandled))
        for entry_id, fields in entries:
            if (handler := self._handler_of(fields)) is not None:
                report += await self._handle(entry_id, fields, handler)
        return report

    def _handler_of(self, fields: dict) -> EventHandler | None:
        return self._handlers.get(fields.get("type", ""))

    async def _acknowledge(self, entry_ids: list[str]) -> None:
        """Done with these entries without running a handler: off the pending list, failure counts forgotten."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, *entry_ids)
            pipe.hdel(keys.stream_attempts(self.stream, self.group), *entry_ids)
            await pipe.execute()

    async def _handle(self, entry_id: str, fields: dict, handler: EventHandler) -> StepReport:
        event_id = fields.get("event_id", "")
        done_key = keys.stream_done(self.group, event_id)
        if event_id and await self._redis.exists(done_key):
            await self._acknowledge([entry_id])
            return StepReport(skipped=1)
        try:
            await handler(orjson.loads(fields["event"]))
        except Exception as error:  # noqa: BLE001 - any failure: retry later, then dead-letter
            return await self._failed(entry_id, fields, error)
        async with self._redis.pipeline(transaction=False) as pipe:
            if event_id:
                pipe.set(done_key, 1, ex=DONE_TTL_SECONDS)
            pipe.xack(self.stream, self.group, entry_id)
            pipe.hdel(keys.stream_attempts(self.stream, self.group), entry_id)
            await pipe.execute()
        return StepReport(handled=1)

    async def _failed(self, entry_id: str, fields: dict, error: Exception) -> StepReport:
        attempts = await self._redis.hincrby(keys.stream_attempts(self.stream, self.group), entry_id, 1)
        log.warning("consumer %s: %s entry %s failed (%s), attempt %d", self.group, fields.get("type"), entry_id,
                    type(error).__name__, attempts)
        if attempts >= self.max_attempts:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xadd(keys.stream_dead_letters(self.stream, self.group),
                          {**fields, "entry_id": entry_id, "error": type(error).__name__},
                          maxlen=DEAD_MAXLEN, approximate=True)
                pipe.xack(self.stream, self.group, entry_id)
                pipe.hdel(keys.stream_attempts(self.stream, self.group), entry_id)
                await pipe.execute()
            log.error("consumer %s: gave up on entry %s after %d attempts", self.group, entry_id, attempts)
        return StepReport(failed=1)
