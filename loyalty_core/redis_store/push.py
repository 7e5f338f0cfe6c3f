"""Pushes in their member's slot: records, dedup keys, the pending inbox, frequency caps, the customer-service
window and the delivery log (see loyalty_core/push/service.py for the steps and their order)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms, from_epoch_ms
from ..push import hours
from ..push.model import URGENCIES, Decision, Delivery, MemberFacts, Push, PushRecord, Window
from ..push.planner import PushPolicy
from ..push.service import ActionNoted, Begun, Outcome
from .batching import pipelined
from .scripts import Scripts

LOG_LENGTH = 100                              # delivery log entries kept per member
KEEP_ENDED_MS = 7 * 86_400_000                # ended records stay readable this long (the log stays longer)
KEEP_DEDUP_MS = 400 * 86_400_000              # "never the same topic twice": for more than a year
URGENCY_RANK_SPAN = 10**13                    # inbox order: urgency rank, then not_after (epoch ms < 10^13)


class RedisPushStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    # -- planning ----------------------------------------------------------------------------------------
    async def situation(self, push: Push, now: datetime) -> tuple[MemberFacts, PushRecord | None] | None:
        return (await self.situations([push], now))[0]

    async def situations(self, pushes: list[Push], now: datetime) -> list[tuple[MemberFacts, PushRecord | None] | None]:
        """`situation` of each push, read by plain commands, all in one pipeline. The reads need not be one atomic
        step: what the planner decides on and another step could change in between (the record and its version, the
        dedup key, the caps) the plan step checks again, atomically, refusing a stale decision. A script making the
        same reads costs Redis about three times as much (bench: 11 µs a push against 4)."""
        reads = [_situation_reads(push) for push in pushes]
        answers = iter(await pipelined(self._redis, [command for member_reads in reads for command in member_reads]))
        moment = _Moment.of(now)
        return [_situation(push, [next(answers) for _ in member_reads], moment)
                for push, member_reads in zip(pushes, reads)]

    async def apply(self, push: Push, decision: Decision, version: int, now: datetime,
                    policy: PushPolicy) -> PushRecord | None:
        result = await self._scripts.run("push_plan", _plan_keys(push.member_id),
                                         _plan_args(push, decision, version, _Moment.of(now), policy))
        return _applied(push, decision, result)

    async def apply_many(self, decisions: list[tuple[Push, Decision, int]], now: datetime,
                         policy: PushPolicy) -> list[PushRecord | None]:
        """`apply` of each (push, decision, version), one script per push in its member's slot, in one pipeline;
        each push as first planned (a waiting record's own)."""
        moment = _Moment.of(now)
        calls = [(_plan_keys(push.member_id), _plan_args(push, decision, version, moment, policy))
                 for push, decision, version in decisions]
        results = await self._scripts.run_many("push_plan", calls)
        return [_applied(push, decision, result)
                for (push, decision, _), result in zip(decisions, results)]

    async def record(self, member_id: str, push_id: str) -> PushRecord | None:
        raw = await self._redis.hget(keys.member_pushes(member_id), push_id)
        return PushRecord.from_dict(orjson.loads(raw)) if raw else None

    async def inbox(self, member_id: str, limit: int) -> list[str]:
        if limit <= 0:
            return []
        return await self._scripts.batcher.call("ZRANGE", keys.member_push_inbox(member_id), 0, limit - 1)

    # -- sending ---------------------------------------------------------------------------------------------
    async def begin(self, member_id: str, push_id: str, attempt: int, now: datetime, call_timeout: timedelta,
                    policy: PushPolicy) -> Begun:
        result = await self._scripts.call("push_begin", [
            keys.member_pushes(member_id), keys.member_push_facts(member_id), keys.member_consents(member_id),
            keys.member_profile(member_id), keys.member_deliveries(member_id), keys.member_push_done(member_id),
            keys.member_push_caps(member_id),
        ], [
            push_id, attempt, epoch_ms(now), int(call_timeout.total_seconds() * 1000),
            ",".join(sorted(policy.resend_in_doubt)), int(policy.window_margin.total_seconds() * 1000), LOG_LENGTH,
            KEEP_ENDED_MS,
        ])
        return _begun(result)

    async def include_in_batch(self, record: PushRecord, batch_id: str, now: datetime, policy: PushPolicy) -> Begun:
        member_id = record.member_id
        result = await self._scripts.call("push_mass_include", [
            keys.member_pushes(member_id), keys.member_push_facts(member_id), keys.member_profile(member_id),
            keys.member_deliveries(member_id), keys.member_push_done(member_id), keys.member_push_caps(member_id),
        ], [
            record.push_id, record.attempt, batch_id, hours.month_key(now), policy.mass_per_month, epoch_ms(now),
            LOG_LENGTH, KEEP_ENDED_MS,
        ])
        return _begun(result, record)

    async def finish(self, record: PushRecord, outcome: Outcome, now: datetime) -> bool:
        member_id = record.member_id
        result = await self._scripts.call("push_finish", [
            keys.member_pushes(member_id), keys.member_push_facts(member_id), keys.member_consents(member_id),
            keys.member_push_caps(member_id), keys.member_deliveries(member_id), keys.member_push_done(member_id),
        ], [record.push_id, record.attempt, _json(_outcome(outcome)), epoch_ms(now), LOG_LENGTH, KEEP_ENDED_MS])
        return not result.get("ignored")

    # -- the customer-service window ----------------------------------------------------------------------------
    async def open_window(self, member_id: str, window: Window, delivery_key: str) -> ActionNoted:
        result = await self._scripts.call(
            "push_window_open", [keys.member_push_facts(member_id), keys.member_push_inbox(member_id)],
            [window.action, epoch_ms(window.opened_at), epoch_ms(window.closes_at), window.limit, delivery_key])
        return ActionNoted(result["opened"], result["pending"])

    async def take_window(self, member_id: str, now: datetime, margin: timedelta) -> bool:
        result = await self._scripts.call("push_window_take", [keys.member_push_facts(member_id)],
                                          [epoch_ms(now), int(margin.total_seconds() * 1000)])
        return result["ok"]

    async def close_window(self, member_id: str, now: datetime) -> None:
        await self._scripts.call("push_window_close", [keys.member_push_facts(member_id)], [epoch_ms(now)])

    async def window(self, member_id: str) -> Window | None:
        return _window(await self._redis.hgetall(keys.member_push_facts(member_id)))

    # -- the delivery log ------------------------------------------------------------------------------------
    async def deliveries(self, member_id: str, limit: int) -> list[Delivery]:
        raw = await self._redis.lrange(keys.member_deliveries(member_id), 0, max(0, limit - 1))
        return [Delivery.from_dict(orjson.loads(entry)) for entry in raw]


def _situation_reads(push: Push) -> list[tuple]:
    """What the planner decides the push on: the profile's status, the push facts, the caps, the dedup key's score,
    the push's record, and the one consent its subscribe message could use (none for a push without one)."""
    member_id = push.member_id
    reads = [("HGET", keys.member_profile(member_id), "status"), ("HGETALL", keys.member_push_facts(member_id)),
             ("HGETALL", keys.member_push_caps(member_id)), ("ZSCORE", keys.member_push_dedup(member_id), push.dedup_key),
             ("HGET", keys.member_pushes(member_id), push.push_id)]
    if consent := _consent_asked(push):
        reads.append(("HGET", keys.member_consents(member_id), consent))
    return reads


def _consent_asked(push: Push) -> str:
    """The consent the planner may decide on: the subscribe message's template id, or "" (none to read)."""
    return push.content.subscribe.template_id if push.content.subscribe else ""


@dataclass(frozen=True, slots=True)
class _Moment:
    """`now` as the push steps use it, worked out once for a batch of them."""
    ms: int
    today: str               # yyyymmdd
    monday: str              # this week's Monday, yyyymmdd
    month: str               # yyyymm

    @classmethod
    def of(cls, now: datetime) -> "_Moment":
        return cls(epoch_ms(now), hours.day_key(now), hours.week_start(now).strftime("%Y%m%d"), hours.month_key(now))


def _situation(push: Push, answers: list, moment: _Moment) -> tuple[MemberFacts, PushRecord | None] | None:
    """The planner's facts from the answers to `_situation_reads`; None for a member with no profile."""
    status, facts, caps, dedup, raw_record, *asked = answers
    consent = asked[0] if asked else None
    if status is None:
        return None
    record = PushRecord.from_dict(orjson.loads(raw_record)) if raw_record else None
    today, monday = moment.today, moment.monday
    others = [day for push_id, day in caps.items() if push_id != push.push_id and day >= monday]
    return MemberFacts(
        following=status == "subscribed" and facts.get("unreachable") != "1",
        window=_window(facts),
        consents={_consent_asked(push): int(consent)} if consent is not None else {},
        mass_this_month=int(facts.get("mass_count", 0)) if facts.get("mass_month") == moment.month else 0,
        marketing_today=sum(day == today for day in others),
        marketing_this_week=sum(day <= today for day in others),
        duplicate=dedup is not None and record is None,
    ), record


def _plan_keys(member_id: str) -> list[str]:
    return [keys.member_pushes(member_id), keys.member_push_dedup(member_id), keys.member_push_inbox(member_id),
            keys.member_push_caps(member_id), keys.member_deliveries(member_id), keys.member_push_done(member_id)]


def _plan_args(push: Push, decision: Decision, version: int, moment: _Moment, policy: PushPolicy) -> list:
    return [_json(push.to_dict()), push.push_id, push.dedup_key, push.kind, push.topic, decision.status,
            decision.channel or "", epoch_ms(decision.until) if decision.until else "", decision.reason or "",
            version, moment.ms, moment.today, moment.monday, policy.marketing_per_day, policy.marketing_per_week,
            URGENCIES.index(push.urgency) * URGENCY_RANK_SPAN + epoch_ms(push.not_after), LOG_LENGTH,
            KEEP_ENDED_MS, KEEP_DEDUP_MS]


def _applied(push: Push, decision: Decision, result: dict) -> PushRecord | None:
    """The record the step wrote: `push` (the record's own, as first planned) with the decision, and the counts
    and version the script answers (it sends back only what the caller does not have)."""
    if not result["ok"]:
        return None
    if result.get("duplicate"):
        return PushRecord(push=push, status=decision.status, reason=decision.reason)
    until = from_epoch_ms(epoch_ms(decision.until)) if decision.until else None      # as the record holds it
    return PushRecord(push=push, status=decision.status, channel=decision.channel or "", until=until,
                      reason=decision.reason or "", attempt=result["attempt"], retries=result["retries"],
                      version=result["v"], batch=result.get("batch") or "")


def _window(facts: dict) -> Window | None:
    if "w_closes" not in facts:
        return None
    return Window(action=facts["w_action"], opened_at=from_epoch_ms(facts["w_opened"]),
                  closes_at=from_epoch_ms(facts["w_closes"]), limit=int(facts["w_limit"]),
                  used=int(facts.get("w_used", 0)))


def _begun(result: dict, record: PushRecord | None = None) -> Begun:
    raw = result.get("record")
    return Begun(result["action"], PushRecord.from_dict(raw) if raw else record, result.get("openid") or "")


def _outcome(outcome: Outcome) -> dict:
    return _present(status=outcome.status, reason=outcome.reason,
                    until_ms=epoch_ms(outcome.until) if outcome.until else None,
                    close_window=outcome.close_window or None, clear_consent=outcome.clear_consent or None,
                    unreachable=outcome.unreachable or None, refund_mass=outcome.refund_mass or None)


def _present(**values) -> dict:
    """Without the empty ones: Lua's cjson turns a JSON null into a value that is not nil."""
    return {name: value for name, value in values.items() if value is not None and value != ""}


def _json(value: dict) -> str:
    return orjson.dumps(value).decode()
