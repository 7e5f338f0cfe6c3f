"""The sender: `python -m bot sender`. Consumes the push outbox and sends each push exactly once, or says
it cannot know.

- Any number of sender processes run; each reads every partition `push:{p}` in the consumer group
  `senders`, so the group shares the entries out.
- Per entry: the member's script marks the push in flight (taking the window's message or the consent its
  channel needs) → one token from the endpoint's bucket (shared in Redis) → the API call, bounded by the
  call timeout → the outcome recorded in the member's slot → the entry acknowledged.
- The client retries "system busy" (-1) and refused connections with backoff and jitter, and replaces a
  rejected token once (bot/wechat_api.py); what still fails is tried again later (deferred, up to
  `retry_delays`) or fails. A send whose outcome the client cannot know (a timeout, a connection lost
  after the request went out, a 5xx) is in doubt at once: it is never repeated blindly.
  45015/45047 close the window in our facts and the push is planned again (never retried blindly), 43101
  forgets the consent, 43004 marks the member unreachable; other refusals fail with their errcode.
- Entries a dead sender left pending are reclaimed after `claim_idle_ms`: one whose outcome is recorded is
  only acknowledged, one not yet in flight is sent, one in flight for longer than the call timeout is in
  doubt — listed and counted, not sent again unless the policy says so for its kind. Mass batches carry a
  clientmsgid, so a batch in doubt is sent again: the platform does not send it twice.
- Mass pushes wait in the process for their batch: up to 10,000 members of one topic and content, sent
  when full or when no more came for `mass_linger` seconds.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from loyalty_core.clock import Clock, SystemClock
from loyalty_core.push.model import PushRecord
from loyalty_core.program import load_program
from loyalty_core.push.planner import PushPolicy
from loyalty_core.push.service import Begun, Outcome, PushService
from loyalty_core.redis_store.batching import Batcher
from loyalty_core.redis_store.connection import UNAVAILABLE, OutageLog, connect
from loyalty_core.redis_store.mass_batches import MassBatch, RedisMassBatches
from loyalty_core.redis_store.push_queue import Entry, RedisPushQueue
from loyalty_core.redis_store.scripts import Scripts

from ..services import push_services
from ..settings import Settings
from ..wechat_api import (NoConsent, NotFollowing, OutcomeUnknown, OutsideWindow,
                          RetryableError, TokenError, WeChatApi, WeChatApiError, WindowUsedUp)
from .mass_sends import MassSends
from .rate_limit import RateLimiter

log = logging.getLogger("bot.sender")

ENDPOINTS = {"custom": "message/custom/send", "template": "message/template/send",
             "subscribe": "message/subscribe/bizsend", "mass": "message/mass/send"}
FLIGHT_GRACE = timedelta(seconds=2)     # a live sender records its outcome within this of its call timeout
BATCH_LINGER = 0.002                    # seconds a Redis pipeline waits for more of the in-flight sends' steps


@dataclass(frozen=True)
class SenderConfig:
    concurrency: int = 500                     # entries being worked on at once (API calls in flight)
    call_timeout: float = 30.0                 # seconds; an answer later than this is an unknown outcome
    claim_idle_ms: int | None = None           # reclaim entries pending this long (default: in_doubt_after)
    read_batch: int = 200
    block_ms: int = 1000
    retry_delays: tuple[float, ...] = (30.0, 120.0, 600.0, 1800.0)   # seconds before the next try; then failed
    mass_linger: float = 2.0                   # seconds without a new member before a mass batch goes out
    housekeeping_every: float = 1.0            # wake-ups of deferred pushes, counters, mass batches
    reclaim_every: float = 5.0

    @property
    def in_doubt_after(self) -> timedelta:
        return timedelta(seconds=self.call_timeout) + FLIGHT_GRACE

    @property
    def idle_ms(self) -> int:
        if self.claim_idle_ms is not None:
            return self.claim_idle_ms
        return int(self.in_doubt_after.total_seconds() * 1000)


def consumer_name() -> str:
    return f"sender-{socket.gethostname()}-{os.getpid()}"


class Sender:
    def __init__(self, pushes: PushService, queue: RedisPushQueue, batches: RedisMassBatches, api: WeChatApi,
                 limiter: RateLimiter, *, name: str | None = None, config: SenderConfig = SenderConfig()):
        self._pushes = pushes
        self._queue = queue
        self._api = api
        self._limiter = limiter
        self.name = name or consumer_name()
        self.config = config
        self._mass = MassSends(self, pushes, batches)
        self._acks: list[Entry] = []
        self._slots = asyncio.Semaphore(config.concurrency)
        self._working: set[asyncio.Task] = set()
        self.stats: Counter[str] = Counter()      # what this process did, by outcome
        self.outage = OutageLog(log, f"sender {self.name}")

    # -- driving it ----------------------------------------------------------------------------------------
    async def step(self) -> int:
        """Reclaim what is due, read what is new, handle all of it and send the mass batches formed: for tests
        and for catching up. Returns how many entries were seen."""
        await self._queue.ensure_groups()
        entries = await self._reclaim()
        for partition in range(self._queue.partitions):
            entries += await self._queue.read(self.name, partition, self.config.read_batch)
        await asyncio.gather(*(self._handle(entry) for entry in entries))
        await self._mass.send_all()
        await self._flush()
        return len(entries)

    async def drain(self, max_steps: int = 100) -> None:
        for _ in range(max_steps):
            if not await self.step():
                return

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: one reader per partition, the reclaimer and the housekeeping loop; then the work in
        hand is finished (bounded by the call timeout) and the counts written."""
        await self._queue.ensure_groups()
        loops = [asyncio.create_task(self._read_forever(partition, stop))
                 for partition in range(self._queue.partitions)]
        loops += [asyncio.create_task(self._every(self.config.reclaim_every, self._reclaim_and_handle, stop)),
                  asyncio.create_task(self._every(self.config.housekeeping_every, self._housekeeping, stop)),
                  asyncio.create_task(self._flush_acks_forever(stop))]
        await stop.wait()
        await asyncio.gather(*loops, return_exceptions=True)
        if self._working:
            await asyncio.wait(list(self._working), timeout=self.config.call_timeout + 1)
        await self._mass.send_all()
        await self.aclose()

    async def aclose(self) -> None:
        """What is left in hand is written; nothing keeps running on the Redis client after this."""
        await self._flush()
        await self._limiter.aclose()

    async def _read_forever(self, partition: int, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                taken = await self._take_slots()
                try:
                    entries = await self._queue.read(self.name, partition, taken, self.config.block_ms)
                except BaseException:
                    self._release(taken)
                    raise
                self._release(taken - len(entries))
                self.outage.succeeded()
                for entry in entries:
                    self._spawn(entry)
            except asyncio.CancelledError:
                raise
            except UNAVAILABLE as error:
                self.outage.failed(error)
                await _pause(stop, 1.0)
            except Exception as error:  # noqa: BLE001 - keep reading
                log.warning("sender %s: reading partition %d failed (%s)", self.name, partition, type(error).__name__)
                await _pause(stop, 1.0)

    async def _take_slots(self) -> int:
        """Slots for one read: a share of the concurrency at least (one read per freed slot would cost a round
        trip per message), and as many more as are free now, up to a read batch."""
        least = max(1, min(self.config.read_batch, self.config.concurrency // (2 * self._queue.partitions)))
        taken = 0
        while taken < least or (taken < self.config.read_batch and not self._slots.locked()):
            await self._slots.acquire()
            taken += 1
        return taken

    def _release(self, count: int) -> None:
        for _ in range(count):
            self._slots.release()

    def _spawn(self, entry: Entry) -> None:
        task = asyncio.create_task(self._handle(entry))
        self._working.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._working.discard(task)
        self._slots.release()

    async def _every(self, seconds: float, job, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except UNAVAILABLE as error:
                self.outage.failed(error)
            except Exception as error:  # noqa: BLE001 - try again next round
                log.warning("sender %s: %s failed (%s)", self.name, job.__name__, type(error).__name__)
            await _pause(stop, seconds)

    async def _flush_acks_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _pause(stop, 0.02)
            with contextlib.suppress(Exception):
                await self._flush_acks()

    async def _reclaim(self) -> list[Entry]:
        entries: list[Entry] = []
        for partition in range(self._queue.partitions):
            entries += await self._queue.reclaim(self.name, partition, self.config.idle_ms)
        return entries

    async def _reclaim_and_handle(self) -> None:
        for entry in await self._reclaim():
            await self._slots.acquire()
            self._spawn(entry)

    async def _housekeeping(self) -> None:
        await self._pushes.wake_due()
        await self._mass.send_lingering()
        await self._pushes.flush_counts()

    async def _flush(self) -> None:
        await self._flush_acks()
        await self._pushes.flush_counts()

    async def _flush_acks(self) -> None:
        if self._acks:
            done, self._acks = self._acks, []
            await self._queue.ack(done)

    def acknowledge(self, entry: Entry) -> None:
        self._acks.append(entry)

    # -- one entry ---------------------------------------------------------------------------------------------
    async def _handle(self, entry: Entry) -> None:
        try:
            if entry.channel != "mass":      # the token first: a wait for it is not time in flight
                await self._limiter.acquire(ENDPOINTS[entry.channel])
            begun = await self._pushes.begin(entry.member_id, entry.push_id, entry.attempt,
                                             self.config.in_doubt_after)
            if begun.action != "send":
                self.stats[begun.action] += 1
            if begun.action == "busy":
                return                        # another sender is on it: the entry stays pending
            if begun.action in ("mass", "mass_resend"):
                self._mass.add(entry, begun)  # acknowledged once its batch has an outcome
                return
            if begun.action == "send":
                await self._send(begun)
            self.acknowledge(entry)
        except UNAVAILABLE as error:         # left pending: reclaimed once Redis is back
            self.outage.failed(error)
        except Exception as error:  # noqa: BLE001 - left pending: reclaimed and looked at again later
            log.warning("sender %s: entry %s of partition %d failed (%s)", self.name, entry.entry_id,
                        entry.partition, type(error).__name__)

    async def _send(self, begun: Begun) -> None:
        record = begun.record
        try:
            async with asyncio.timeout(self.config.call_timeout):
                await self._call(record, begun.openid)
        except TimeoutError:
            outcome = Outcome("in_doubt", f"no answer within {self.config.call_timeout:g} s")
        except WeChatApiError as error:
            outcome = self.outcome_of(error, record)
        else:
            outcome = Outcome("sent")
        self.stats[outcome.status] += 1
        await self._pushes.finish(record, outcome)

    async def _call(self, record: PushRecord, openid: str) -> None:
        content = record.push.content
        if record.channel == "custom":
            await self._api.send_custom(openid, dict(content.custom))
        elif record.channel == "template":
            await self._api.send_template(openid, content.template.template_id, content.template.data(),
                                          url=content.template.url or None)
        elif record.channel == "subscribe":
            await self._api.send_subscribe(openid, content.subscribe.template_id, content.subscribe.data(),
                                           page=content.subscribe.url or None)
        else:
            raise ValueError(f"no single send for channel {record.channel!r}")

    def outcome_of(self, error: WeChatApiError, record: PushRecord) -> Outcome:
        """What a refusal means for the push (WECHAT.md section 3's error classes)."""
        reason = f"errcode {error.errcode}"
        if isinstance(error, (OutsideWindow, WindowUsedUp)):
            return Outcome("planned", reason, close_window=True)
        if isinstance(error, NoConsent):
            return Outcome("planned", reason, clear_consent=True)
        if isinstance(error, NotFollowing):
            return Outcome("dropped", "unsubscribed", unreachable=True)
        if isinstance(error, OutcomeUnknown):
            return Outcome("in_doubt", error.errmsg)
        if isinstance(error, (RetryableError, TokenError)):
            return self.retry_later(record, reason)
        return Outcome("failed", reason)

    def retry_later(self, record: PushRecord, reason: str) -> Outcome:
        delays = self.config.retry_delays
        if record.retries >= len(delays):
            return Outcome("failed", f"{reason}, tried {record.retries + 1} times")
        pause = timedelta(seconds=delays[record.retries] * random.uniform(0.5, 1.0))
        return Outcome("deferred", reason, until=self._pushes.now() + pause)

    # -- mass batches ------------------------------------------------------------------------------------------
    async def send_batch(self, batch: MassBatch) -> str:
        """Send a batch (again: its clientmsgid makes a repeat harmless); returns its msg_id, or "" when the
        outcome is unknown or worth another try later."""
        await self._limiter.acquire(ENDPOINTS["mass"])
        try:
            async with asyncio.timeout(self.config.call_timeout):
                result = await self._api.mass_send_to_openids(batch.openids, batch.content,
                                                              clientmsgid=batch.clientmsgid)
        except (TimeoutError, RetryableError, TokenError) as error:
            log.warning("mass batch %s: no outcome (%s), sent again later", batch.batch_id, type(error).__name__)
            return ""
        return str(result.msg_id)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


# -- the process ---------------------------------------------------------------------------------------------
def build_sender(redis, session: aiohttp.ClientSession, settings: Settings, clock: Clock, *,
                 policy: PushPolicy | None = None, name: str | None = None,
                 config: SenderConfig | None = None) -> Sender:
    """A sender on the process's Redis client and HTTP session, configured from the settings; its policy (quiet
    hours and caps, which replanning applies) is the program file's unless given."""
    scripts = Scripts(redis, Batcher(redis, linger=BATCH_LINGER))
    policy = policy or PushPolicy.from_program(load_program(settings.program_file).push)
    pushes, queue = push_services(redis, scripts, clock, policy, settings.push_partitions)
    config = config or SenderConfig(concurrency=settings.push_sender_concurrency,
                                    call_timeout=settings.push_call_timeout)
    api = WeChatApi(session, redis, settings.wechat_appid, settings.wechat_appsecret, settings.wechat_api_base,
                    concurrency=None, timeout=None, exactly_once=True)   # the sender bounds both itself
    return Sender(pushes, queue, RedisMassBatches(redis), api, RateLimiter(scripts), name=name, config=config)


async def run_sender(settings: Settings, stop: asyncio.Event) -> None:
    """`python -m bot sender`: consume the push outbox until SIGINT/SIGTERM."""
    redis = connect(settings.redis_url, max_connections=512)   # as serve's: pipelines in flight under load
    connector = aiohttp.TCPConnector(limit=settings.push_sender_concurrency, limit_per_host=0)
    # The API sets no cookies: a jar would only filter every request's and response's headers for them.
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
        sender = build_sender(redis, session, settings, SystemClock())
        log.info("sender %s reading %d partitions, %d calls at most in flight", sender.name,
                 settings.push_partitions, sender.config.concurrency)
        try:
            await sender.run(stop)
        finally:
            await redis.aclose()
    log.info("sender %s stopped: %s", sender.name, " ".join(f"{k}={v}" for k, v in sorted(sender.stats.items())))
