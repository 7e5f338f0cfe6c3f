"""The headline metrics the programme is steered by, read from the segment indexes (no scan of the members):

- active rate: members whose last purchase is at most `lifecycle.active_days` ago, over all members;
- repurchase rate: members with two or more purchases in 12 months over those with one or more, overall and
  per tier;
- LTV: the members' 12-month spend summed, over all members (CNY, to the fen, rounded down);
- registration rate: members with a bound phone over the members who follow;
- push conversion: the members of campaign variants who bought within the campaign's conversion days, over
  all members of campaign variants (holdouts left out).
A rate with nothing to divide by is 0. The `metrics` job keeps one snapshot a day; `GET /api/v1/admin/metrics`
shows today's figures and that history.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

from .program import Program
from .segment_rules import STAGES, Segment

HISTORY_DAYS = 400                # a year and a bit: this month against the same month last year


@dataclass(frozen=True)
class Headline:
    day: str
    members: int
    active_rate: float
    repurchase_rate: float
    repurchase_by_tier: dict[str, float]
    ltv: str
    registration_rate: float
    push_conversion: float

    def to_dict(self) -> dict:
        return asdict(self)


class MetricsStore(Protocol):
    async def count(self, segment: Segment, today: date) -> int: ...
    async def following(self) -> int: ...
    async def phone_bound(self) -> int: ...
    async def total_spend_fen(self) -> int: ...
    async def campaign_conversions(self) -> tuple[int, int]:
        """(members of campaign variants who bought in time, members of campaign variants), all campaigns."""
    async def keep(self, day: date, figures: dict, keep_days: int) -> None: ...
    async def history(self, since: date) -> list[dict]: ...


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


class HeadlineMetrics:
    def __init__(self, store: MetricsStore, program: Program):
        self._store = store
        self._program = program

    async def today(self, today: date) -> Headline:
        count = lambda segment: self._store.count(segment, today)  # noqa: E731
        members = await count(Segment())
        active = await count(Segment(days_since_purchase_max=self._program.lifecycle.active_days))
        by_tier = {}
        for tier in self._program.tiers:
            buyers = await count(Segment(tiers=(tier.code,), purchases_12m_min=1))
            by_tier[tier.code] = rate(await count(Segment(tiers=(tier.code,), purchases_12m_min=2)), buyers)
        converted, reached = await self._store.campaign_conversions()
        ltv = (Decimal(await self._store.total_spend_fen()) / 100 / members).quantize(Decimal("0.01"), ROUND_FLOOR) \
            if members else Decimal("0.00")
        return Headline(
            day=today.isoformat(), members=members, active_rate=rate(active, members),
            repurchase_rate=rate(await count(Segment(purchases_12m_min=2)), await count(Segment(purchases_12m_min=1))),
            repurchase_by_tier=by_tier, ltv=str(ltv),
            registration_rate=rate(await self._store.phone_bound(), await self._store.following()),
            push_conversion=rate(converted, reached))

    async def members_by(self, today: date) -> dict[str, dict[str, int]]:
        """How many members each tier and each lifecycle stage holds (and how many active ones are about to
        lapse), from the same indexes as the rates."""
        count = lambda segment: self._store.count(segment, today)  # noqa: E731
        tiers = {tier.code: await count(Segment(tiers=(tier.code,))) for tier in self._program.tiers}
        stages = {stage: await count(Segment(lifecycle=(stage,))) for stage in STAGES}
        return {"tiers": tiers, "stages": stages}

    async def keep_today(self, today: date) -> Headline:
        """Today's figures, kept in the daily history (a second run the same day replaces the first)."""
        headline = await self.today(today)
        await self._store.keep(today, headline.to_dict(), HISTORY_DAYS)
        return headline

    async def history(self, today: date, days: int = HISTORY_DAYS) -> list[dict]:
        """The kept days of the last `days`, oldest first."""
        return await self._store.history(today - timedelta(days=min(days, HISTORY_DAYS)))
