"""The program's rules of segments and the member lifecycle, and a segment itself: pure tables of the program
file's kind, so that the admin API reads a segment as strictly as the program file is read.

A segment is evaluated two ways that must agree: `Segment.matches` on one member's facts (the reference, and
what a test compares against), and `Segment.clauses` for the store, which intersects the segment indexes kept
beside the facts (sets per tier, stage, level, category, birthday month and coupon template held; sorted sets
by 12-month spend, balance, purchases, last purchase day and join day). Amounts are CNY (12-month spend,
inclusive bounds), balances points, day counts whole days in the mall's time; a member who never bought
matches no `days_since_purchase_*` condition. Communities match a member of any of those listed.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, model_validator

from .program_fields import (
    Checked, Invalid, Money, OneOf, Number, OptionalMoney, OptionalTemplateId, OptionalText, TemplateId, Whole, rules,
)

if TYPE_CHECKING:
    from .member_facts import Facts

STAGES: tuple[str, ...] = ("potential", "new", "active", "dormant", "churned")
STATEMENT_OFF = "statement_off"         # the index of members who turned the monthly statement off (keys.py)
LAPSING = "lapsing"                     # not a stage: a flag of active members, segmented like one
SPEND_LEVELS: tuple[str, ...] = ("high", "mid", "low")


def to_fen(amount: Decimal) -> int:
    return int(amount * 100)


@rules
class SegmentRules:
    """The `[segments]` section: spend levels and the one definition of a high-value member."""
    spend_levels: Annotated[str, OneOf("thresholds", "percentiles")] = "thresholds"
    high_spend: Money = Decimal(20_000)           # thresholds: CNY of 12-month spend from which a member is high
    mid_spend: Money = Decimal(3_000)             # … and mid
    high_percentile: Annotated[int, Whole(1, 99)] = 10   # percentiles: the top 10% of the spenders are high
    mid_percentile: Annotated[int, Whole(1, 99)] = 40    # … the top 40% at least mid
    high_value_spend: Money = Decimal(20_000)
    high_value_purchases: Annotated[int, Whole(1, 1000)] = 6
    sample_size: Annotated[int, Whole(1, 100)] = 20       # member ids a segment preview shows
    # category -> coupon template: the coupon a campaign's "@preferred_category" gives (program._references checks them)
    category_coupons: dict[str, TemplateId] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _levels_rise(self) -> "SegmentRules":
        if self.mid_spend >= self.high_spend:
            raise Invalid(f"must be below segments.high_spend ({self.high_spend})", ("mid_spend",))
        if self.mid_percentile <= self.high_percentile:
            raise Invalid(f"must be above segments.high_percentile ({self.high_percentile})", ("mid_percentile",))
        return self

    @property
    def by_percentile(self) -> bool:
        return self.spend_levels == "percentiles"


@dataclass(frozen=True)
class SpendCutoffs:
    """The 12-month spend (fen) from which a member's level is high, and mid."""
    high_fen: int
    mid_fen: int


def rank_of(spenders: int, percentile: int) -> int:
    """The rank (1 = the biggest spender) of the last member inside the top `percentile`% of `spenders`."""
    return max(1, -(-spenders * percentile // 100))


@rules
class LifecycleRules:
    """The `[lifecycle]` section: the stages' day counts and when a member is about to lapse."""
    new_days: Annotated[int, Whole(1, 365)] = 30
    active_days: Annotated[int, Whole(1, 3650)] = 90
    dormant_days: Annotated[int, Whole(2, 3650)] = 180
    lapse_factor: Annotated[Decimal, Number(1, 10)] = Decimal(2)
    lapse_min_purchases: Annotated[int, Whole(2, 1000)] = 3
    # The coupon each transition brings, with the notice `lifecycle_<stage>` ("" = none): once per transition.
    dormant_coupon: OptionalTemplateId = ""
    churned_coupon: OptionalTemplateId = ""
    lapsing_coupon: OptionalTemplateId = ""

    def care_coupon(self, stage: str) -> str:
        return getattr(self, f"{stage}_coupon", "")

    @model_validator(mode="after")
    def _stages_in_order(self) -> "LifecycleRules":
        if self.dormant_days <= self.active_days:
            raise Invalid(f"must be more than lifecycle.active_days ({self.active_days})", ("dormant_days",))
        return self


MAX_LIST = 50


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be true or false")
    return value


def _names(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not value or len(value) > MAX_LIST:
        raise Invalid(f"must be a list of 1 to {MAX_LIST} names")
    if not all(isinstance(item, str) and item.strip() and len(item) <= 64 for item in value):
        raise Invalid("must be a list of names (text, at most 64 characters each)")
    return tuple(dict.fromkeys(item.strip() for item in value))


def _choices(*allowed: str):
    def check(value):
        names = _names(value)
        for i, name in enumerate(names or ()):
            if name not in allowed:
                raise Invalid(f"unknown value {name!r} (one of {', '.join(allowed)})", (i,))
        return names
    return Checked(check, optional=True)


Names = Annotated[tuple[str, ...] | None, Checked(_names, optional=True)]
Days = Annotated[int | None, Whole(0, 36_500, optional=True)]
Points = Annotated[int | None, Whole(0, 10**12, optional=True)]


@rules
class Segment:
    tiers: Names = None
    lifecycle: Annotated[tuple[str, ...] | None, _choices(*STAGES, LAPSING)] = None
    communities: Names = None
    preferred_category: OptionalText = ""
    spend_level: Annotated[tuple[str, ...] | None, _choices(*SPEND_LEVELS)] = None
    spend_12m_min: OptionalMoney = None
    spend_12m_max: OptionalMoney = None
    balance_min: Points = None
    balance_max: Points = None
    birthday_month: Annotated[int | None, Whole(1, 12, optional=True)] = None
    days_since_purchase_min: Days = None
    days_since_purchase_max: Days = None
    joined_within_days: Days = None
    purchases_12m_min: Points = None
    holds_coupon_template: OptionalText = ""
    lacks_coupon_template: OptionalText = ""
    takes_statement: Annotated[bool | None, Checked(lambda v: _flag(v), optional=True)] = None   # 退订 / 订阅

    def to_dict(self) -> dict:
        """Only the conditions given, as the API took them."""
        shown = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value not in (None, ""):
                shown[item.name] = list(value) if isinstance(value, tuple) else \
                    str(value) if isinstance(value, Decimal) else value
        return shown

    def matches(self, facts: "Facts", communities: frozenset[str], today: date, statement_off: bool = False) -> bool:
        since = facts.days_since_purchase(today)
        return all((
            self.takes_statement is None or self.takes_statement != statement_off,
            self.tiers is None or facts.tier in self.tiers,
            self.lifecycle is None or any(facts.in_stage(stage) for stage in self.lifecycle),
            self.communities is None or bool(communities & set(self.communities)),
            not self.preferred_category or facts.preferred_category == self.preferred_category,
            self.spend_level is None or facts.spend_level in self.spend_level,
            self.spend_12m_min is None or facts.spend_12m_fen >= to_fen(self.spend_12m_min),
            self.spend_12m_max is None or facts.spend_12m_fen <= to_fen(self.spend_12m_max),
            self.balance_min is None or facts.balance >= self.balance_min,
            self.balance_max is None or facts.balance <= self.balance_max,
            self.birthday_month is None or facts.birthday_month == self.birthday_month,
            self.days_since_purchase_min is None or (since is not None and since >= self.days_since_purchase_min),
            self.days_since_purchase_max is None or (since is not None and since <= self.days_since_purchase_max),
            self.joined_within_days is None or (today - facts.joined_on).days <= self.joined_within_days,
            self.purchases_12m_min is None or facts.purchases_12m >= self.purchases_12m_min,
            not self.holds_coupon_template or self.holds_coupon_template in facts.coupon_templates,
            not self.lacks_coupon_template or self.lacks_coupon_template not in facts.coupon_templates,
        ))

    def clauses(self, today: date) -> list["Clause"]:
        """The index lookups whose intersection is the segment (every member with facts when there are none)."""
        day = today.toordinal()
        found: list[Clause] = []
        add_set = lambda index, values: values is not None and found.append(Clause("any", index, values))  # noqa
        add_set("tier", self.tiers)
        add_set("stage", self.lifecycle)
        add_set("community", self.communities)
        add_set("category", (self.preferred_category,) if self.preferred_category else None)
        add_set("level", self.spend_level)
        add_set("birthday_month", (str(self.birthday_month),) if self.birthday_month else None)
        add_set("coupon", (self.holds_coupon_template,) if self.holds_coupon_template else None)
        ranges = [("spend", _fen(self.spend_12m_min), _fen(self.spend_12m_max)),
                  ("balance", self.balance_min, self.balance_max),
                  ("last_purchase", _minus(day, self.days_since_purchase_max), _minus(day, self.days_since_purchase_min)),
                  ("joined", _minus(day, self.joined_within_days), None),
                  ("purchases", self.purchases_12m_min, None)]
        found += [Clause("range", index, (low, high)) for index, low, high in ranges
                  if low is not None or high is not None]
        if self.lacks_coupon_template:
            found.append(Clause("none", "coupon", (self.lacks_coupon_template,)))
        if self.takes_statement is not None:
            found.append(Clause("none" if self.takes_statement else "any", STATEMENT_OFF, ("1",)))
        return found


@dataclass(frozen=True)
class Clause:
    op: str                  # any (in one of the sets) | range (score between, inclusive) | none (in none of them)
    index: str               # tier | stage | community | category | level | birthday_month | coupon | spend | …
    values: tuple            # set names; or (low, high), None = open


def _fen(amount: Decimal | None) -> int | None:
    return None if amount is None else to_fen(amount)


def _minus(day: int, days: int | None) -> int | None:
    return None if days is None else day - days


