"""The facts campaigns segment members by, derived from the member's own records, and the lifecycle stage.

`facts_of(source, today, rules)` is pure: the same purchases, balance and coupons on the same day give the
same facts, so recomputing them is idempotent and the daily job can repair whatever an event missed. The
member's purchases are the ledger's own records (amount minus refunds, day, category), so a refund lowers the
12-month spend of the purchase's own month and category.

Rules (all days in the mall's time):
- the 12-month window is the tier window: purchases on or after `window_start(today, 12)`;
- spend level: `high` from `segments.high_spend`, `mid` from `segments.mid_spend`, else `low`; or, with
  `spend_levels = "percentiles"`, from the spend of the member at the top `high_percentile`% (`mid_percentile`%) of
  the members who spent, as the `lifecycle` job last measured it (SpendCutoffs);
- preferred category: the most 12-month spend (a tie goes to the category named first alphabetically);
- lifecycle (over every purchase, those retention forgot included): potential (no purchase), new (first purchase less than `new_days` ago), active (last purchase at
  most `active_days` ago), dormant (at most `dormant_days`), churned (longer);
- about to lapse: an active member with at least `lapse_min_purchases` purchases in the window whose days since
  the last one exceed their usual interval (the window's span ÷ (purchases − 1)) times `lapse_factor`;
- a high-value member: 12-month spend from `segments.high_value_spend` and at least
  `segments.high_value_purchases` purchases in the window (one definition, used by every feature).
`next_change` is the first later day on which the facts change with no new event (a stage boundary, a purchase
leaving the window): the daily job recomputes the members whose day has come, and no others.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .points import add_months, to_fen, window_start
from .segment_rules import LAPSING, LifecycleRules, SegmentRules, SpendCutoffs

WINDOW_MONTHS = 12


@dataclass(frozen=True)
class Purchase:
    day: date
    spend_fen: int                      # amount minus what was refunded of it
    category: str = ""


@dataclass(frozen=True)
class FactsSource:
    """What the facts are made of, read from the member's slot at one moment."""
    member_id: str
    joined_on: date
    tier: str
    balance: int
    purchases: tuple[Purchase, ...] = ()
    earlier: tuple[date, ...] = ()      # the first and last day of the purchases retention forgot (older than 12 months)
    coupon_templates: frozenset[str] = frozenset()    # templates of the coupons the member can still use
    birthday_month: int = 0                            # 0 = not set
    following: bool = True
    phone_bound: bool = False


@dataclass(frozen=True, slots=True)
class TextFacts:
    """What a campaign's text shows of a member's facts, and what picks their category's coupon: read on its own,
    since a send reads it for every member of the segment."""
    tier: str
    balance: int
    preferred_category: str
    stage: str


@dataclass(frozen=True)
class Facts:
    member_id: str
    tier: str
    balance: int
    joined_on: date
    spend_12m_fen: int = 0
    purchases_12m: int = 0
    first_purchase: date | None = None
    last_purchase: date | None = None
    preferred_category: str = ""
    spend_level: str = "low"
    stage: str = "potential"
    lapsing: bool = False
    high_value: bool = False
    birthday_month: int = 0
    coupon_templates: frozenset[str] = frozenset()
    next_change: date | None = None
    following: bool = True
    phone_bound: bool = False

    @property
    def average_basket_fen(self) -> int:
        return self.spend_12m_fen // self.purchases_12m if self.purchases_12m else 0

    @property
    def purchases_per_month(self) -> Decimal:
        return (Decimal(self.purchases_12m) / WINDOW_MONTHS).quantize(Decimal("0.01"))

    def days_since_purchase(self, today: date) -> int | None:
        return None if self.last_purchase is None else (today - self.last_purchase).days

    def in_stage(self, name: str) -> bool:
        """`lapsing` counts as a stage for segments: active members about to lapse."""
        return self.lapsing if name == LAPSING else self.stage == name


def facts_of(source: FactsSource, today: date, segments: SegmentRules, lifecycle: LifecycleRules,
             cutoffs: SpendCutoffs | None = None) -> Facts:
    bought = sorted((p for p in source.purchases if p.spend_fen > 0), key=lambda p: p.day)
    start = window_start(today, WINDOW_MONTHS)
    in_window = [p for p in bought if start <= p.day <= today]
    spend = sum(p.spend_fen for p in in_window)
    days = [p.day for p in bought] + list(source.earlier)
    first, last = (min(days), max(days)) if days else (None, None)
    stage = stage_of(first, last, today, lifecycle)
    lapse_day = _lapse_day(in_window, lifecycle) if stage == "active" else None
    return Facts(
        member_id=source.member_id, tier=source.tier, balance=source.balance, joined_on=source.joined_on,
        spend_12m_fen=spend, purchases_12m=len(in_window), first_purchase=first, last_purchase=last,
        preferred_category=_preferred_category(in_window), spend_level=spend_level(spend, segments, cutoffs), stage=stage,
        lapsing=lapse_day is not None and today >= lapse_day,
        high_value=spend >= to_fen(segments.high_value_spend) and len(in_window) >= segments.high_value_purchases,
        birthday_month=source.birthday_month, coupon_templates=source.coupon_templates,
        following=source.following, phone_bound=source.phone_bound, next_change=_next_change(in_window, first, last, lapse_day, today, lifecycle))


def stage_of(first: date | None, last: date | None, today: date, rules: LifecycleRules) -> str:
    if first is None or last is None:
        return "potential"
    if (today - first).days < rules.new_days:
        return "new"
    since = (today - last).days
    if since <= rules.active_days:
        return "active"
    return "dormant" if since <= rules.dormant_days else "churned"


def spend_level(spend_fen: int, rules: SegmentRules, cutoffs: SpendCutoffs | None = None) -> str:
    """By the thresholds, or (segments.spend_levels = "percentiles") by the cutoffs the spenders' percentiles make;
    a member who spent nothing is low."""
    if rules.by_percentile and cutoffs is None:
        cutoffs = SpendCutoffs(to_fen(rules.high_spend), to_fen(rules.mid_spend))   # none measured yet
    high, mid = (cutoffs.high_fen, cutoffs.mid_fen) if rules.by_percentile else \
        (to_fen(rules.high_spend), to_fen(rules.mid_spend))
    if spend_fen <= 0:
        return "low"
    if spend_fen >= high:
        return "high"
    return "mid" if spend_fen >= mid else "low"


def _preferred_category(purchases: list[Purchase]) -> str:
    totals: dict[str, int] = {}
    for purchase in purchases:
        if purchase.category:
            totals[purchase.category] = totals.get(purchase.category, 0) + purchase.spend_fen
    return min(totals, key=lambda category: (-totals[category], category)) if totals else ""


def _lapse_day(in_window: list[Purchase], rules: LifecycleRules) -> date | None:
    """The first day on which the member counts as about to lapse (None: too few purchases to tell)."""
    if len(in_window) < rules.lapse_min_purchases:
        return None
    interval = Decimal((in_window[-1].day - in_window[0].day).days) / (len(in_window) - 1)
    return in_window[-1].day + timedelta(days=math.floor(interval * rules.lapse_factor) + 1)


def _leaves_window(day: date) -> date:
    """The first day whose 12-month window no longer holds `day`."""
    leaves = add_months(day, WINDOW_MONTHS)
    while window_start(leaves, WINDOW_MONTHS) <= day:
        leaves += timedelta(days=1)
    return leaves


def _next_change(in_window: list[Purchase], first: date | None, last: date | None, lapse_day: date | None,
                 today: date, rules: LifecycleRules) -> date | None:
    candidates = [_leaves_window(in_window[0].day)] if in_window else []
    if first is not None and last is not None:
        candidates += [first + timedelta(days=rules.new_days), last + timedelta(days=rules.active_days + 1),
                       last + timedelta(days=rules.dormant_days + 1)]
    if lapse_day is not None:
        candidates.append(lapse_day)
    later = [day for day in candidates if day > today]
    return min(later) if later else None
