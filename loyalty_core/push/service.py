"""The push service: plans pushes exactly once, keeps the members' customer-service windows, releases the
pending inbox, wakes deferred pushes and records what the sender reports.

Exactly once, across slots. A push's record lives in its member's slot and changes by one script per step
(push_plan, push_begin, push_finish, push_mass_include). Two cross-member structures follow each step on
their own: the outbox stream of the member's partition (queued pushes) and the due index (when to look at a
push again). Before a step, the due index gets a watchdog entry a minute ahead; after the step it is set to
the push's real wake-up or removed. A process that dies between the two leaves the watchdog, and
`wake_due` repairs the push then: queues it again (a second outbox entry is harmless: the sender acts only
on the record's current attempt), or plans it again.

The planner is pure and decides on facts read a moment before; the step's script refuses a decision whose
facts have changed (the record's version, a frequency cap filled meanwhile) and the push is planned again.
What a channel needs at send time (the window's quota, a consent, the monthly mass quota) is taken by the
sender's script, atomically; when it is gone, the push is planned again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from .. import errors
from ..clock import Clock
from .model import (DEFERRED, IN_DOUBT, PLANNED, QUEUED, WAITING, WINDOW_RULES, Decision, Delivery,
                    MemberFacts, Push, PushRecord, Window)
from .planner import PushPolicy, plan, plan_each

log = logging.getLogger("loyalty_core.push")

RESENT_TOPIC = "staff-resend"
RESENT_VALID_FOR = timedelta(hours=24)
WATCHDOG = timedelta(minutes=1)       # how soon a step cut short by a crash is repaired
PLAN_TRIES = 5


class ConcurrentChange(RuntimeError):
    """The push's facts kept changing while it was planned (a queued push's caps filling meanwhile, again and
    again): nothing was recorded; plan it again."""


@dataclass(frozen=True)
class Outcome:
    """What became of a send, as the sender reports it."""
    status: str                      # sent | failed | in_doubt | dropped | planned (plan again) | deferred (retry)
    reason: str = ""
    until: datetime | None = None    # deferred: when to try again
    close_window: bool = False       # the platform said the window is closed or used up (45015/45047)
    clear_consent: bool = False      # the platform said the consent is gone (43101)
    unreachable: bool = False        # the platform said the member does not follow (43004)
    refund_mass: bool = False        # the mass message counted for the month did not go out


@dataclass(frozen=True)
class ActionNoted:
    """What a member's action did to their window, and how many pushes wait in their pending inbox."""
    opened: bool
    pending: int


@dataclass(frozen=True)
class Begun:
    """What the sender is to do with an outbox entry."""
    action: str                      # send | mass | mass_resend | ack | busy | replan | in_doubt | dropped | expired
    record: PushRecord | None = None
    openid: str = ""


class PushStore(Protocol):
    """The member's side, each call one step in the member's slot (or a read of it)."""
    async def situation(self, push: Push, now: datetime) -> tuple[MemberFacts, PushRecord | None] | None:
        """The facts the planner needs and the push's record; None when there is no such member."""
    async def apply(self, push: Push, decision: Decision, version: int, now: datetime,
                    policy: PushPolicy) -> PushRecord | None:
        """Record the decision unless the facts it was taken on changed (then None)."""
    async def situations(self, pushes: list[Push], now: datetime) -> list[tuple[MemberFacts, PushRecord | None] | None]:
        """`situation` of each push, read together."""
    async def apply_many(self, decisions: list[tuple[Push, Decision, int]], now: datetime,
                         policy: PushPolicy) -> list[PushRecord | None]:
        """`apply` of each (push, decision, version): one step in each member's slot, sent together."""
    async def record(self, member_id: str, push_id: str) -> PushRecord | None: ...
    async def inbox(self, member_id: str, limit: int) -> list[str]:
        """The member's pending pushes, most urgent first."""
    async def begin(self, member_id: str, push_id: str, attempt: int, now: datetime, call_timeout: timedelta,
                    policy: PushPolicy) -> Begun: ...
    async def include_in_batch(self, record: PushRecord, batch_id: str, now: datetime,
                               policy: PushPolicy) -> Begun: ...
    async def finish(self, record: PushRecord, outcome: Outcome, now: datetime) -> bool:
        """Record the outcome of the attempt in flight; False when it is no longer in flight (nothing changes)."""
    async def open_window(self, member_id: str, window: Window, delivery_key: str) -> ActionNoted: ...
    async def take_window(self, member_id: str, now: datetime, margin: timedelta) -> bool: ...
    async def close_window(self, member_id: str, now: datetime) -> None: ...
    async def deliveries(self, member_id: str, limit: int) -> list[Delivery]: ...


class PushQueue(Protocol):
    """The cross-member structures: the outbox streams, the due index, the in-doubt list, the counters."""
    async def enqueue(self, record: PushRecord) -> None: ...
    async def watch(self, member_id: str, push_id: str, at: datetime) -> None: ...
    async def unwatch(self, member_id: str, push_id: str) -> None: ...
    async def watch_many(self, pushes: list[tuple[str, str]], at: datetime) -> None: ...
    async def settle_many(self, records: list[PushRecord]) -> None:
        """`enqueue` the queued ones, then `watch` each at its wake-up or `unwatch` it."""
    async def due(self, now: datetime, limit: int) -> list[tuple[str, str]]: ...
    async def settle_due(self, member_id: str, push_id: str, cutoff: datetime) -> None:
        """Forget the due entry unless a newer step set it past the cutoff."""
    async def list_in_doubt(self, record: PushRecord, now: datetime) -> None: ...
    def count(self, record: PushRecord, outcome: str) -> None:
        """Count a step per kind, topic and channel (buffered; `flush_counts` writes them)."""
    async def flush_counts(self) -> None: ...


class PushService:
    def __init__(self, store: PushStore, queue: PushQueue, clock: Clock, policy: PushPolicy = PushPolicy()):
        self._store = store
        self._queue = queue
        self._clock = clock
        self.policy = policy

    # -- planning ----------------------------------------------------------------------------------------
    async def plan(self, push: Push, *, closed: frozenset[str] = frozenset()) -> PushRecord:
        """Plan the push once: the same push_id again returns its record as it stands (a producer may retry)."""
        now = self._clock.now()
        watched = False
        for _ in range(PLAN_TRIES):
            situation = await self._store.situation(push, now)
            if situation is None:
                raise errors.UnknownMember()
            facts, record = situation
            if record is not None and record.status not in WAITING:
                return record
            if record is not None:
                push = record.push           # as first planned: a producer's retry cannot change it
            if not watched:
                await self._queue.watch(push.member_id, push.push_id, now + WATCHDOG)
                watched = True
            decision = plan(push, replace(facts, closed=closed) if closed else facts, now, self.policy)
            applied = await self._store.apply(push, decision, record.version if record else 0, now, self.policy)
            if applied is not None:
                self._queue.count(applied, applied.status)
                await self._settle(applied)
                await self._queue.flush_counts()
                return applied
        raise ConcurrentChange(f"push {push.push_id} of member {push.member_id}: facts kept changing")

    async def resend(self, member_id: str, push_id: str, ref: str) -> PushRecord:
        """A push sent again at staff's request (a notice the member says never came): its content as a new
        push, once per `ref`, planned like any other (window, quota, caps, quiet hours). Its topic is its own, so
        that a campaign's results do not count it twice."""
        record = await self._store.record(member_id, push_id)
        if record is None:
            raise errors.UnknownPush()
        again = Push(push_id="", member_id=member_id, kind=record.push.kind, topic=RESENT_TOPIC,
                     not_after=self._clock.now() + RESENT_VALID_FOR, content=record.push.content,
                     urgency=record.push.urgency, dedup_key=f"resend:{push_id}:{ref}")
        return await self.plan(again)

    async def plan_many(self, pushes: list[Push]) -> list[PushRecord | None]:
        """`plan` for a batch of pushes to different members (a campaign's), with the same steps in the same
        order, each taken for the whole batch at once; None for a push whose member does not exist. A push whose
        facts changed meanwhile is planned again on its own."""
        now = self._clock.now()
        situations = await self._store.situations(pushes, now)
        done: dict[int, PushRecord | None] = {}
        to_plan: list[tuple[int, Push, MemberFacts, int]] = []
        for i, (push, situation) in enumerate(zip(pushes, situations)):
            if situation is None:
                done[i] = None
                continue
            facts, record = situation
            if record is not None and record.status not in WAITING:
                done[i] = record
            else:
                to_plan.append((i, record.push if record else push, facts, record.version if record else 0))
        await self._queue.watch_many([(push.member_id, push.push_id) for _, push, _, _ in to_plan], now + WATCHDOG)
        decisions = plan_each([(push, facts) for _, push, facts, _ in to_plan], now, self.policy)
        applied = await self._store.apply_many(
            [(push, decision, version) for (_, push, _, version), decision in zip(to_plan, decisions)], now,
            self.policy)
        for (i, push, _, _), record in zip(to_plan, applied):
            if record is not None:
                self._queue.count(record, record.status)
                done[i] = record
        await self._queue.settle_many([record for (i, *_), record in zip(to_plan, applied) if record is not None])
        await self._queue.flush_counts()
        for (i, push, _, _), record in zip(to_plan, applied):
            if record is None:
                done[i] = await self.plan(push)
        return [done[i] for i in range(len(pushes))]

    async def preview(self, push: Push) -> Decision:
        """What `plan` would decide for the push now, recording nothing (a broadcast's preview): the same planner
        on the same facts. A push planned already shows the decision it got."""
        now = self._clock.now()
        situation = await self._store.situation(push, now)
        if situation is None:
            raise errors.UnknownMember()
        facts, record = situation
        if record is not None and record.status not in WAITING:
            return Decision(record.status, channel=record.channel or None, reason=record.reason)
        return plan(record.push if record else push, facts, now, self.policy)

    async def _settle(self, record: PushRecord) -> None:
        """The cross-member steps after the member's: the outbox stream, the due index."""
        if record.status == QUEUED:
            await self._queue.enqueue(record)
        wake_at = record.wake_at()
        if wake_at is not None:
            await self._queue.watch(record.member_id, record.push_id, wake_at)
        else:
            await self._queue.unwatch(record.member_id, record.push_id)

    async def wake_due(self, limit: int = 500) -> int:
        """Plan again the pushes whose time has come (deferred ones, expired inbox entries) and repair steps a
        crash cut short. Returns how many due entries were handled."""
        now = self._clock.now()
        due = await self._queue.due(now, limit)
        for member_id, push_id in due:
            record = await self._store.record(member_id, push_id)
            if record is None or record.status not in WAITING | {QUEUED}:
                await self._queue.settle_due(member_id, push_id, now)
            elif record.status == QUEUED:    # recorded, but its outbox entry may never have been written
                await self._queue.enqueue(record)
                await self._queue.settle_due(member_id, push_id, now)
            elif record.wake_at() is not None and record.wake_at() > now:
                await self._queue.watch(member_id, push_id, record.wake_at())
            else:
                await self._replan(record.push)
        return len(due)

    async def _replan(self, push: Push, closed: frozenset[str] = frozenset()) -> None:
        try:
            await self.plan(push, closed=closed)
        except (ConcurrentChange, errors.UnknownMember) as problem:
            log.warning("push %s of member %s not planned again now: %s", push.push_id, push.member_id,
                        type(problem).__name__)

    # -- windows and the pending inbox --------------------------------------------------------------------
    async def member_acted(self, member_id: str, action: str, at: datetime, delivery_key: str) -> ActionNoted:
        """A message, menu tap, follow or scan opens the member's window (replacing the previous one). `at` is
        when the platform says it happened; never later than now, so our window never outlasts the platform's.
        Also says how many pushes wait in the member's pending inbox (a message releases them)."""
        if action not in WINDOW_RULES:
            return ActionNoted(False, 0)
        window = Window.opened_by(action, min(at, self._clock.now()))
        return await self._store.open_window(member_id, window, delivery_key)

    async def member_left(self, member_id: str) -> None:
        await self._store.close_window(member_id, self._clock.now())

    async def take_window(self, member_id: str) -> bool:
        """One customer-service message for a reply of the bot's own (a late reply, a follow-up)."""
        return await self._store.take_window(member_id, self._clock.now(), self.policy.window_margin)

    async def window_refused(self, member_id: str) -> None:
        """The platform refused a message of ours (45015/45047): the window is closed in our facts too."""
        await self._store.close_window(member_id, self._clock.now())

    async def release_inbox(self, member_id: str) -> int:
        """The member wrote: up to `inbox_follow_ups` pending pushes, most urgent first, are planned again (in
        the window the message opened). Returns how many were queued."""
        queued = 0
        for push_id in await self._store.inbox(member_id, self.policy.inbox_follow_ups):
            record = await self._store.record(member_id, push_id)
            if record is not None:
                replanned = await self.plan(record.push)
                queued += replanned.status == QUEUED
        return queued

    # -- the sender's steps ---------------------------------------------------------------------------------
    async def begin(self, member_id: str, push_id: str, attempt: int, call_timeout: timedelta) -> Begun:
        begun = await self._store.begin(member_id, push_id, attempt, self._clock.now(), call_timeout, self.policy)
        await self._after_begin(begun)
        return begun

    async def include_in_batch(self, record: PushRecord, batch_id: str) -> Begun:
        begun = await self._store.include_in_batch(record, batch_id, self._clock.now(), self.policy)
        await self._after_begin(begun)
        return begun

    async def _after_begin(self, begun: Begun) -> None:
        if begun.action == "replan":
            self._queue.count(begun.record, begun.record.reason)
            await self._replan(begun.record.push)
        elif begun.action in ("dropped", "expired"):
            self._queue.count(begun.record, begun.action)
        elif begun.action == "in_doubt":
            await self._queue.list_in_doubt(begun.record, self._clock.now())

    async def finish(self, record: PushRecord, outcome: Outcome, *, closed: frozenset[str] = frozenset()) -> None:
        """Record a send's outcome; a push to plan again (or retry later) is watched first, so a crash in
        between cannot lose it."""
        now = self._clock.now()
        if outcome.status in (PLANNED, DEFERRED):
            await self._queue.watch(record.member_id, record.push_id, now + WATCHDOG)
        if not await self._store.finish(record, outcome, now):
            return
        self._queue.count(record, outcome.status if outcome.status != PLANNED else outcome.reason)
        if outcome.status == PLANNED:
            await self._replan(record.push, closed)
        elif outcome.status == DEFERRED:
            await self._queue.watch(record.member_id, record.push_id, outcome.until)
        elif outcome.status == IN_DOUBT:
            await self._queue.list_in_doubt(record, now)

    async def flush_counts(self) -> None:
        await self._queue.flush_counts()

    # -- reading ---------------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._clock.now()

    async def record(self, member_id: str, push_id: str) -> PushRecord | None:
        return await self._store.record(member_id, push_id)

    async def deliveries(self, member_id: str, limit: int = 50) -> list[Delivery]:
        return await self._store.deliveries(member_id, limit)

