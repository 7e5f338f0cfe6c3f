"""The headline metrics the programme is steered by, read from the segment indexes (no scan of the members):

- active rate: members whose last purchase is at most `lifecycle.active_days` ago, over all members;
- repurchase rate: members with two or more purchases in 12 months over those with one or more, overall and
  per tier;
- LTV: the members' 12-month spend summed, over all members (CNY, to the fen, rounded down);
- registration rate: members with a bound phone over the members who follow;
- push conversion: the members of campaign variants who bought within the campaign's conversion days, over
  all members of campaign variants (holdouts left out);
- coupon use rate: coupons used at the till over coupons issued, both in the last WINDOW_DAYS days;
- member-day uplift: the spend of an average member day per active member over that of an average other day per
  active member, less 1 (0.18 = member days sell 18% more), over the last WINDOW_DAYS days (refunds taken off the
  day of the purchase), counted from the first day the daily totals were kept;
- member-day sign-up uplift: by the same method, the members who joined (followed for the first time) on an
  average member day over those of an average other day, less 1 (0.12 = member days bring 12% more sign-ups).
The daily totals (spend, coupons issued and used, sign-ups, per day) are kept by a consumer of the ledger's events (`serve`),
each event counted once. A rate with nothing to divide by is 0. The `metrics` job keeps one snapshot a day; `GET /api/v1/admin/metrics`
shows today's figures and that history.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Protocol

from .clock import MALL_TZ
from .member_day import is_member_day
from .program import Program
from .segment_rules import STAGES, Segment

METRICS_GROUP = "headline-totals"   # the consumer group that keeps the daily totals
HISTORY_DAYS = 400                # a year and a bit: this month against the same month last year
WINDOW_DAYS = 90                  # the coupon use rate and the member-day uplift look this far back
CENT = Decimal("0.01")


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
    coupon_use_rate: float = 0.0
    member_day_spend_per_active: str = "0.00"       # CNY, an average member day
    other_day_spend_per_active: str = "0.00"        # CNY, an average other day
    member_day_uplift: float = 0.0
    member_day_sign_ups: float = 0.0                # members who joined on an average member day
    other_day_sign_ups: float = 0.0                 # members who joined on an average other day
    member_day_sign_up_uplift: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class MetricsStore(Protocol):
    async def count(self, segment: Segment, today: date) -> int: ...
    async def following(self) -> int: ...
    async def phone_bound(self) -> int: ...
    async def total_spend_fen(self) -> int: ...
    async def campaign_conversions(self) -> tuple[int, int]:
        """(members of campaign variants who bought in time, members of campaign variants), all campaigns."""
    async def count_event(self, day: str, event_id: str, counts: dict[str, int]) -> bool: ...
    async def totals(self) -> dict[tuple[str, str], int]:
        """(yyyy-mm-dd, measure) -> n of the daily totals (spend in fen, coupons_issued, coupons_used)."""
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
        totals = await self._store.totals()
        rule = self._program.promotions.member_day
        member_day, other_day = spend_per_day(totals, today, rule)
        joined_member_day, joined_other_day = day_averages(totals, today, rule, "sign_ups")
        per_active = lambda fen: (Decimal(fen) / 100 / active).quantize(CENT, ROUND_FLOOR) if active else \
            Decimal("0.00")  # noqa: E731
        return Headline(
            day=today.isoformat(), members=members, active_rate=rate(active, members),
            repurchase_rate=rate(await count(Segment(purchases_12m_min=2)), await count(Segment(purchases_12m_min=1))),
            repurchase_by_tier=by_tier, ltv=str(ltv),
            registration_rate=rate(await self._store.phone_bound(), await self._store.following()),
            push_conversion=rate(converted, reached),
            coupon_use_rate=rate(*(window_sum(totals, today, measure) for measure in ("coupons_used", "coupons_issued"))),
            member_day_spend_per_active=str(per_active(member_day)), other_day_spend_per_active=str(per_active(other_day)),
            member_day_uplift=uplift(member_day, other_day),
            member_day_sign_ups=round(float(joined_member_day), 2), other_day_sign_ups=round(float(joined_other_day), 2),
            member_day_sign_up_uplift=uplift(joined_member_day, joined_other_day))

    # -- the daily totals, from the ledger's events --------------------------------------------------------
    def handlers(self) -> dict:
        return {"points_earned": self.on_purchase, "purchase_refunded": self.on_refund,
                "coupon_issued": self.counting("coupons_issued"), "coupon_used": self.counting("coupons_used"),
                "member_joined": self.counting("sign_ups")}

    async def on_purchase(self, event: dict) -> None:
        data = event["data"]
        fen = int(Decimal(data["amount"]) * 100) if data.get("amount") else 0
        day = _day_of(event)
        await self._store.count_event(day, event["event_id"], {f"{day}|spend": fen})

    async def on_refund(self, event: dict) -> None:
        data = event["data"]
        day = str(data.get("purchase_day") or "")
        day = f"{day[:4]}-{day[4:6]}-{day[6:]}" if len(day) == 8 else _day_of(event)
        fen = int(Decimal(data["amount"]) * 100) if data.get("amount") else 0
        await self._store.count_event(_day_of(event), event["event_id"], {f"{day}|spend": -fen})

    def counting(self, measure: str):
        """A handler that counts each event once under its day's `measure`."""
        async def count(event: dict) -> None:
            day = _day_of(event)
            await self._store.count_event(day, event["event_id"], {f"{day}|{measure}": 1})
        return count

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


def _day_of(event: dict) -> str:
    return datetime.fromisoformat(event["occurred_at"]).astimezone(MALL_TZ).date().isoformat()


def _window(totals: dict, today: date) -> list[date]:
    """The days of the last WINDOW_DAYS up to yesterday, from the first day any total was kept."""
    kept = [date.fromisoformat(day) for day, _ in totals]
    if not kept:
        return []
    first = max(min(kept), today - timedelta(days=WINDOW_DAYS))
    return [first + timedelta(days=n) for n in range((today - first).days)]


def window_sum(totals: dict, today: date, measure: str) -> int:
    return sum(totals.get((day.isoformat(), measure), 0) for day in _window(totals, today))


def spend_per_day(totals: dict, today: date, rule) -> tuple[int, int]:
    """The spend (fen) of an average member day and of an average other day in the window (0 when there was none)."""
    member_day, other_day = day_averages(totals, today, rule, "spend")
    return math.floor(member_day), math.floor(other_day)


def day_averages(totals: dict, today: date, rule, measure: str) -> tuple[Fraction, Fraction]:
    """The measure's total on an average member day and on an average other day in the window (0 when there was
    none), exactly."""
    days = _window(totals, today)
    member_days = [d for d in days if is_member_day(d, rule)]
    other_days = [d for d in days if not is_member_day(d, rule)]
    average = lambda group: Fraction(sum(totals.get((d.isoformat(), measure), 0) for d in group), len(group)) \
        if group else Fraction(0)  # noqa: E731
    return average(member_days), average(other_days)


def uplift(member_day, other_day) -> float:
    """How much more an average member day brings than an average other day (0.18: 18% more); 0 when either is 0."""
    return round(float(member_day / other_day) - 1, 4) if member_day and other_day else 0.0
