"""Tiers: judged on spend over a rolling window (purchases minus refunds, kept per day).

- Upgrade at once: the purchase that crosses a threshold moves the member up (it still earns at the
  old multiplier; the new one applies from the next purchase). The reward of each tier reached for the
  first time is granted once, with a `tier_upgraded` event. (This happens inside the purchase script.)
- Downgrade only at review, on the tier's anniversary: the tier is kept while the window's spend still
  qualifies for it, else the member drops to the tier the spend qualifies for.
- Except a refund within `upgrade_grace_days` of an upgrade that takes the window's spend back under the
  tier's threshold: it reverts the upgrade (to the tier before it, or the one the spend still qualifies
  for if higher) and takes back the rewards of the tiers given up — from their lot first, then the oldest,
  the rest as debt — so that a tier and its reward cannot be bought with a purchase refunded the next day.
  A tier given up this way earns its reward again when it is reached again. (Inside the refund script.)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from .clock import MALL_TZ, Clock
from .points import add_months, from_fen, tiers_payload, walk_partitions, window_start
from .program import Program, Tier


# -- pure rules --------------------------------------------------------------------------------
def tier_for(spend: Decimal, program: Program) -> Tier:
    eligible = [t for t in program.tiers if spend >= t.threshold]
    return max(eligible, key=lambda t: t.threshold)


def next_tier(tier: Tier, program: Program) -> Tier | None:
    higher = [t for t in program.tiers if t.threshold > tier.threshold]
    return min(higher, key=lambda t: t.threshold, default=None)


def window_spend(days: dict[date, int], today: date, months: int) -> Decimal:
    """CNY spent on the days inside the window (`days` maps a day to fen)."""
    start = window_start(today, months)
    return from_fen(sum(fen for day, fen in days.items() if start <= day <= today))


@dataclass(frozen=True)
class Upgrade:
    """A recent upgrade: when, from and to which tier, the rewards it granted, and the review day before it."""
    at: datetime
    from_tier: str
    to_tier: str
    rewards: tuple[tuple[str, int], ...]    # (tier code, points)
    review_before: date | None = None


@dataclass(frozen=True)
class Reversion:
    tier: str                               # the tier after the refund
    taken_back: tuple[tuple[str, int], ...]  # the rewards (tier code, points) of the tiers given up
    standing: tuple[Upgrade, ...]           # the upgrades that still stand (the last one perhaps reduced)
    undone: tuple[Upgrade, ...]             # the upgrades undone entirely, newest first (the member's review day
                                            #   becomes the oldest one's review_before)


def revert_upgrades(upgrades: tuple[Upgrade, ...], tier: str, spend: Decimal, now: datetime, program: Program) -> Reversion:
    """What a refund that leaves `spend` in the window does to a member at `tier` whose recent upgrades are
    `upgrades` (oldest first): the newest upgrade inside the grace period is reverted while the spend is under
    the tier's threshold, to the tier before it or the one the spend qualifies for, whichever is higher."""
    grace = program.tier_review.upgrade_grace
    order = [t.code for t in program.tiers]
    standing, taken, undone = list(upgrades), [], []
    while standing and grace and now - standing[-1].at <= grace and spend < program.tier(tier).threshold:
        last = standing.pop()
        target = max(order.index(last.from_tier), order.index(tier_for(spend, program).code))
        taken += [(code, points) for code, points in last.rewards if order.index(code) > target]
        kept = tuple((code, points) for code, points in last.rewards if order.index(code) <= target)
        if target > order.index(last.from_tier):
            standing.append(replace(last, to_tier=order[target], rewards=kept))
        else:
            undone.append(last)
        tier = order[target]
    return Reversion(tier, tuple(taken), tuple(standing), tuple(undone))


@dataclass(frozen=True)
class TierBenefits:
    """What a member of a tier enjoys (在此基础上): the tier's new benefits, then those kept from below."""
    new: tuple[str, ...]            # first given at this tier
    kept: tuple[str, ...]           # held at the tier below, less what this tier supersedes

    @property
    def all(self) -> tuple[str, ...]:
        return self.new + self.kept


def benefits_of(tier: Tier, program: Program) -> TierBenefits:
    """Walks the tiers from the lowest: each keeps what the one below held (unless it inherits nothing),
    less the benefits it `replaces`, and adds its own; a benefit listed again is not new."""
    held: tuple[str, ...] = ()
    for step in program.tiers:
        below = held
        inherited = tuple(b for b in below if b not in step.replaces) if step.inherit_benefits else ()
        held = inherited + tuple(b for b in step.benefits if b not in inherited)
        if step.code == tier.code:
            return TierBenefits(new=tuple(b for b in held if b not in below),
                                kept=tuple(b for b in held if b in below))
    return TierBenefits(new=tier.benefits, kept=())


@dataclass(frozen=True)
class TierStatus:
    tier: Tier
    spend: Decimal                  # over the window, CNY
    next_tier: Tier | None
    to_next: Decimal                # CNY still needed for the next tier (0 at the top)
    since: datetime | None
    review_on: date | None          # the anniversary when the tier is reviewed (None for the base tier)
    window_months: int
    benefits: TierBenefits          # all the member enjoys, the tier's new ones first
    next_benefits: tuple[str, ...]  # what the next tier adds ((), at the top)


def status_of(tier: Tier, spend: Decimal, program: Program, since: datetime | None,
              review_on: date | None) -> TierStatus:
    upper = next_tier(tier, program)
    to_next = max(upper.threshold - spend, Decimal(0)) if upper else Decimal(0)
    return TierStatus(tier=tier, spend=spend, next_tier=upper, to_next=to_next, since=since, review_on=review_on,
                      window_months=program.tier_review.spend_window_months, benefits=benefits_of(tier, program),
                      next_benefits=benefits_of(upper, program).new if upper else ())


@dataclass(frozen=True)
class TierView:
    """A member's tier as stored: its code ("" = the base tier, never left), since when, the review day, and
    the spend per day (fen) inside the tier window."""
    tier: str
    since: datetime | None
    review_on: date | None
    days: dict[date, int]


@dataclass(frozen=True)
class ReviewResult:
    member_id: str
    due: bool
    kept: bool = True
    from_tier: str = ""
    to_tier: str = ""


# -- port and service --------------------------------------------------------------------------
class TierStore(Protocol):
    async def tier_view(self, member_id: str) -> TierView: ...
    async def review(self, member_id: str, now: datetime, today: date, window_start: date, tiers: list[dict],
                     review_on: str, next_review: str) -> ReviewResult:
        """The review if it is due on `today` (once per review day), else ReviewResult(due=False)."""
    index_partitions: int  # of the review index, each walked on its own
    async def members_due_for_review(self, today: date, partition: int, offset: int, limit: int) -> list[str]: ...


class TierService:
    def __init__(self, store: TierStore, program: Program, clock: Clock):
        self._store = store
        self.program = program
        self._clock = clock

    async def status(self, member_id: str, now: datetime) -> TierStatus:
        view = await self._store.tier_view(member_id)
        today = now.astimezone(MALL_TZ).date()
        spend = window_spend(view.days, today, self.program.tier_review.spend_window_months)
        return status_of(self.program.tier(view.tier), spend, self.program, view.since, view.review_on)

    async def spend_days(self, member_id: str) -> dict[date, int]:
        """The member's spend per day (fen, refunds taken off) inside the tier window."""
        return (await self._store.tier_view(member_id)).days

    async def review(self, member_id: str, now: datetime | None = None) -> ReviewResult:
        """The review on the tier's anniversary (a no-op, due=False, on other days)."""
        now = now or self._clock.now()
        review_on = (await self._store.tier_view(member_id)).review_on
        today = now.astimezone(MALL_TZ).date()
        rules = self.program.tier_review
        return await self._store.review(
            member_id, now, today, window_start(today, rules.spend_window_months), tiers_payload(self.program),
            _day_key(review_on) if review_on else "",
            _day_key(add_months(review_on, rules.review_interval_months)) if review_on else "")

    async def review_due(self, now: datetime | None = None, batch: int = 500) -> list[ReviewResult]:
        """The review job: every member whose tier anniversary has come (the review index)."""
        now = now or self._clock.now()
        today = now.astimezone(MALL_TZ).date()
        return [await self.review(member_id, now) async for member_id in walk_partitions(
            lambda part, offset: self._store.members_due_for_review(today, part, offset, batch),
            self._store.index_partitions, batch)]


def _day_key(day: date) -> str:
    return day.strftime("%Y%m%d")
