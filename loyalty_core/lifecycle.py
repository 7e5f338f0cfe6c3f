"""Keeping the member facts and the lifecycle: the facts recomputed when the ledger says a member changed, and
daily for the members whose facts change with time alone; care for each transition, once.

Events: a consumer of the outbox stream (group FACTS_GROUP) refreshes the member of every event that changes
what the facts are made of (a purchase, refund, points spent or expired, a tier change, a coupon issued, used,
expired or revoked, a member joining, a birthday set). A refresh reads the member's records at one moment and
writes the facts computed from them (member_facts.py), so it is idempotent and any refresh repairs the last.

Daily (`scheduler run lifecycle`): the members whose `next_change` day has come, by the due index, and then
the care due: a transition into a stage with care (dormant, churned, about to lapse) brings the stage's coupon
(`lifecycle.<stage>_coupon`, issue key `lifecycle:<stage>:<since>`) and the notice `lifecycle_<stage>` (ref
`<stage>:<since>`), so a member gets each once per transition however often the job runs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Mapping, Protocol

from . import errors
from .clock import MALL_TZ, Clock
from .member_facts import Facts, FactsSource, TextFacts, facts_of
from .program import Program
from .segment_rules import SpendCutoffs, rank_of, to_fen

log = logging.getLogger("loyalty_core.lifecycle")

FACTS_GROUP = "member-facts"
CARE_STAGES = frozenset({"dormant", "churned", "lapsing"})
FACT_EVENTS = ("member_joined", "points_earned", "purchase_refunded", "points_expired", "points_restored",
               "reward_redeemed", "tier_upgraded", "tier_downgraded", "tier_reverted", "tier_reviewed",
               "coupon_issued", "coupon_used", "coupon_expired", "coupon_revoked", "birthday_set",
               "birthday_changed", "birthday_gift_claimed", "referral_reward_released", "phone_bound",
               "member_unsubscribed", "member_refollowed", "member_folded", "member_merged")
DUE_BATCH = 500


class FactsStore(Protocol):
    async def source(self, member_id: str, birthday_month: int, now: datetime) -> tuple[FactsSource, int] | None: ...
    async def write(self, facts: Facts, snapshot: int, today: date, care: set[str]) -> list[str]: ...
    async def facts(self, member_id: str) -> Facts | None: ...
    async def text_facts_many(self, member_ids: list[str]) -> list[TextFacts | None]: ...
    async def due(self, today: date, limit: int) -> list[str]: ...
    async def spend_cutoffs(self) -> SpendCutoffs | None: ...
    async def save_spend_cutoffs(self, cutoffs: SpendCutoffs) -> None: ...
    async def spenders(self) -> int: ...
    async def spend_at_rank(self, rank: int) -> int: ...
    async def members_spending_between(self, low: int, high: int) -> list[str]: ...
    async def care_due(self, cursor: int, count: int) -> tuple[int, Mapping[str, str]]: ...
    async def care_given(self, member_id: str, transition: str) -> None: ...


class BirthdayLookup(Protocol):
    async def status(self, member_id: str) -> Any: ...


class CouponIssuer(Protocol):
    async def issue(self, member_id: str, template_id: str, issue_key: str, *, source: str = "") -> Any: ...


class Notifier(Protocol):
    async def notify(self, member_id: str, kind: str, values: Mapping[str, Any], ref: str) -> Any: ...


@dataclass(frozen=True)
class CareReport:
    given: int = 0
    failed: int = 0


class MemberFactsService:
    def __init__(self, store: FactsStore, program: Program, clock: Clock, birthdays: BirthdayLookup):
        self._store = store
        self._program = program
        self._clock = clock
        self._birthdays = birthdays

    def today(self) -> date:
        return self._clock.now().astimezone(MALL_TZ).date()

    async def refresh(self, member_id: str) -> list[str]:
        """Recompute the member's facts now; returns the transitions it made (none for no such member)."""
        found = await self._store.source(member_id, await self._birthday_month(member_id), self._clock.now())
        if found is None:
            return []
        source, snapshot = found
        today = self.today()
        source = source if source.tier else _with_tier(source, self._program.base_tier.code)
        cutoffs = await self._store.spend_cutoffs() if self._program.segments.by_percentile else None
        facts = facts_of(source, today, self._program.segments, self._program.lifecycle, cutoffs)
        return await self._store.write(facts, snapshot, today, set(CARE_STAGES))

    async def facts(self, member_id: str) -> Facts | None:
        return await self._store.facts(member_id)

    async def text_facts_many(self, member_ids: list[str]) -> list[TextFacts | None]:
        """What a campaign's text shows of each member's facts; None for a member without facts yet."""
        return await self._store.text_facts_many(member_ids)

    async def on_event(self, event: dict) -> None:
        await self.refresh(event["member_id"])

    def handlers(self) -> dict:
        return dict.fromkeys(FACT_EVENTS, self.on_event)

    async def refresh_due(self) -> int:
        """Every member whose facts change by today with no event (each refresh moves its due day on)."""
        refreshed, today = 0, self.today()
        while True:
            batch = await self._store.due(today, DUE_BATCH)
            for member_id in batch:
                await self.refresh(member_id)
            refreshed += len(batch)
            if len(batch) < DUE_BATCH:
                return refreshed

    async def measure_spend_levels(self) -> int:
        """With spend levels by percentile: measure the cutoffs again and refile the members whose level they move
        (those whose spend lies between an old and a new cutoff, found by the spend index). Returns how many."""
        rules = self._program.segments
        if not rules.by_percentile:
            return 0
        spenders = await self._store.spenders()
        new = SpendCutoffs(await self._store.spend_at_rank(rank_of(spenders, rules.high_percentile)),
                           await self._store.spend_at_rank(rank_of(spenders, rules.mid_percentile)))
        old = await self._store.spend_cutoffs() or SpendCutoffs(to_fen(rules.high_spend), to_fen(rules.mid_spend))
        await self._store.save_spend_cutoffs(new)
        moved: set[str] = set()
        for before, after in ((old.high_fen, new.high_fen), (old.mid_fen, new.mid_fen)):
            if before != after:
                moved.update(await self._store.members_spending_between(min(before, after), max(before, after)))
        for member_id in moved:
            await self.refresh(member_id)
        return len(moved)

    async def _birthday_month(self, member_id: str) -> int:
        status = await self._birthdays.status(member_id)
        return status.occurrence.day.month if status is not None and status.occurrence else 0


def _with_tier(source: FactsSource, tier: str) -> FactsSource:
    return replace(source, tier=tier)


class LifecycleCare:
    """The care each transition brings: the stage's coupon and notice, once per transition."""

    def __init__(self, store: FactsStore, program: Program, coupons: CouponIssuer, notices: Notifier):
        self._store = store
        self._rules = program.lifecycle
        self._coupons = coupons
        self._notices = notices

    async def give_due(self) -> CareReport:
        given = failed = 0
        cursor = 0
        while True:
            cursor, due = await self._store.care_due(cursor, DUE_BATCH)
            for member_id, transition in due.items():
                if await self._give(member_id, transition):
                    given += 1
                else:
                    failed += 1
            if cursor == 0:
                return CareReport(given, failed)

    async def _give(self, member_id: str, transition: str) -> bool:
        stage = transition.split(":", 1)[0]
        values: dict[str, Any] = {"coupon": "", "stage": stage}
        template = self._rules.care_coupon(stage)
        try:
            if template:
                coupon = await self._coupons.issue(member_id, template, f"lifecycle:{transition}", source="lifecycle")
                values["coupon"] = coupon.template.title
            await self._notices.notify(member_id, f"lifecycle_{stage}", values, transition)
        except (errors.DomainError, errors.UnknownMember) as problem:
            log.warning("lifecycle care %s for member %s not given: %s", stage, member_id, type(problem).__name__)
            if not isinstance(problem, (errors.CouponIssueLimit, errors.CouponNotIssuable, errors.CouponMemberLimit,
                                        errors.TierTooLow)):
                return False
        await self._store.care_given(member_id, transition)
        return True
