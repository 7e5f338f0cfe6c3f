"""The program's rules, loaded from a TOML file and checked once at start.

The file is declared, not parsed by hand: each top-level section is a frozen pydantic dataclass (a
"table") and a field of `Program`; each key is a field whose type carries its bounds
(`member_day: Annotated[int, Whole(0, 31)] = 18`, types in program_fields.py) and whose default is
stated there once. Adding a section means: one table class, one `Program` field. An unknown section
or key is an error naming it, so a typo such as `[promotion]` cannot pass silently.

Checks across keys of one table are model validators of that table; references from one section to
another (a coupon template, a tier) are fields typed `TemplateId` / `TierCode`, all checked in one
place, `_references`, once the whole file is read. Every problem is reported with its key path,
positions counted from 0: ``tiers[2].threshold: must be a number ≥ 0``.
"""
from __future__ import annotations

import dataclasses
import tomllib
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Iterator, get_args, get_origin

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from .broadcast_rules import BroadcastRules
from .care import CareRules
from .catalogue import CatalogueItem, CatalogueRules
from .clock import MALL_TZ
from .coupon_rules import CouponRules, CouponTemplate
from .event_rules import EventRules
from .member_day import MemberDayRules, member_day_rule
from .metric_targets import MetricTargets
from .notices import NoticesRules
from .perk_rules import BirthdayRules, ReferralRules, WelcomeRules
from .schedule import ScheduleRules
from .segment_rules import LifecycleRules, Segment, SegmentRules
from .service_desk import ServiceRules
from .statement import StatementRules
from .surveys import SurveyRules
from .program_fields import (
    Checked, Day, Duration, Flag, Invalid, Loc, Multiplier, Number, RefersTo, Text, Whole, clock_time, rules,
)

DEFAULT_PROGRAM = "program_default.toml"
WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


class ProgramError(ValueError):
    """What is wrong with a program file: one line per problem, `path: problem`. `path` and `problem`
    are the first one's."""

    def __init__(self, path: str, problem: str, *more: tuple[str, str]):
        self.path, self.problem = path, problem
        self.problems = [(path, problem), *more]
        super().__init__("\n".join(f"{p}: {text}" if p else text for p, text in self.problems))


# -- the sections ----------------------------------------------------------------------------------
@rules
class PaymentRules:
    """Points paying at a till (积分抵扣, and points plus cash): loyalty_core/points_payment.py."""
    enabled: Flag = True
    points_per_yuan: Annotated[int, Whole(1, 100_000)] = 100      # points worth CNY 1
    min_points: Annotated[int, Whole(1, 10_000_000)] = 100        # the fewest points one payment may use
    max_share_percent: Annotated[int, Whole(1, 100)] = 50         # at most this share of a basket paid by points


@rules
class PointsRules:
    payment: PaymentRules = Field(default_factory=PaymentRules)
    base_rate: Annotated[Decimal, Number(0, 100, above_minimum=True)] = Decimal(1)   # points per CNY 1
    lot_lifetime_months: Annotated[int, Whole(1, 120)] = 12
    expiry_warning_days: Annotated[int, Whole(1, 365)] = 30
    expiry_reminder_days: Annotated[int, Whole(0, 365)] = 7   # a last reminder this close to expiry; 0 = none

    @model_validator(mode="after")
    def _warning_inside_lifetime(self) -> "PointsRules":
        if self.expiry_warning_days >= self.lot_lifetime_months * 28:
            raise Invalid(f"must be shorter than the lot lifetime ({self.lot_lifetime_months} months)",
                          ("expiry_warning_days",))
        if self.expiry_reminder_days >= self.expiry_warning_days:
            raise Invalid(f"must be shorter than points.expiry_warning_days ({self.expiry_warning_days})",
                          ("expiry_reminder_days",))
        return self


@rules
class Tier:
    code: Text
    name: Text
    threshold: Annotated[Decimal, Number(0, places=2)]             # CNY of spend over the window
    multiplier: Annotated[Decimal, Number(0, 10, above_minimum=True)]
    upgrade_reward: Annotated[int, Whole(0, 10_000_000)] = 0        # points, once per member, the first time reached
    benefits: tuple[Text, ...] = ()                                 # this tier's own
    inherit_benefits: Flag = True                                   # also the benefits of the tiers below
    replaces: tuple[Text, ...] = ()                                 # benefits from below its own supersede

    @property
    def threshold_fen(self) -> int:
        return int(self.threshold * 100)


@rules
class TierReview:
    spend_window_months: Annotated[int, Whole(1, 60)] = 12
    review_interval_months: Annotated[int, Whole(1, 60)] = 12
    # A refund within this long of an upgrade that takes the spend back under the tier's threshold
    # reverts the upgrade; 0 = never.
    upgrade_grace: Annotated[timedelta, Duration("days", 0, 365)] = Field(timedelta(days=30),
                                                                          alias="upgrade_grace_days")


def _weekdays(value: Any) -> frozenset[int]:
    """mon … sun (or the ISO numbers, Monday = 1, as code passes them)."""
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise Invalid("must be a list of weekdays (mon, tue, wed, thu, fri, sat, sun)")
    days = set()
    for i, day in enumerate(value):
        number = day if day in WEEKDAYS.values() and isinstance(day, int) else \
            WEEKDAYS.get(day.strip().lower()[:3]) if isinstance(day, str) else None
        if number is None:
            raise Invalid(f"unknown weekday {day!r} (use mon, tue, wed, thu, fri, sat, sun)")
        days.add(number)
    return frozenset(days)


@rules
class Promotions:
    double_points_multiplier: Multiplier = Decimal(2)
    double_points_dates: frozenset[Day] = frozenset()
    double_points_weekdays: Annotated[frozenset[int], Checked(_weekdays)] = frozenset()   # ISO weekdays, Monday = 1
    member_day: Annotated[int | str, Checked(member_day_rule)] = 18               # day of month, weekday; 0 = none
    member_day_multiplier: Multiplier = Decimal(2)
    birthday_multiplier: Multiplier = Decimal(2)


@rules
class LeaderboardRules:
    size: Annotated[int, Whole(1, 100)] = 10


@rules
class TillRules:
    max_purchase_amount: Annotated[Decimal, Number(0, 10_000_000, above_minimum=True)] = Decimal(500_000)
    max_future: Annotated[timedelta, Duration("seconds", 0, 86_400)] = Field(timedelta(seconds=300),
                                                                             alias="max_future_seconds")
    max_backdate: Annotated[timedelta, Duration("days", 1, 365)] = Field(timedelta(days=90),
                                                                         alias="max_backdate_days")
    walk_in_join: Annotated[timedelta, Duration("days", 1, 30)] = Field(timedelta(days=7), alias="walk_in_join_days")


@rules
class RetentionRules:
    """How long what grows with every purchase is kept (loyalty_core/retention.py)."""
    till_retry: Annotated[timedelta, Duration("days", 1, 3650)] = Field(timedelta(days=30), alias="till_retry_days")
    history_months: Annotated[int, Whole(1, 120)] = 13
    ended_coupon_months: Annotated[int, Whole(1, 120)] = 6
    purchase_months: Annotated[int, Whole(13, 120)] = 13   # more than the 12-month window the facts and tiers read


@rules
class MemberCodeRules:
    validity: Annotated[timedelta, Duration("minutes", 1, 60)] = Field(timedelta(minutes=5), alias="validity_minutes")


@dataclasses.dataclass(frozen=True)
class QuietHours:
    """From `start` to `end` in the mall's time; `end` before `start` means the quiet time crosses midnight."""
    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(MALL_TZ).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def _quiet_hours(value: Any) -> QuietHours | None:
    if value is None or isinstance(value, QuietHours):
        return value
    if not isinstance(value, (list, tuple)) or len(value) not in (0, 2):
        raise Invalid('must be ["HH:MM", "HH:MM"] (from, until) or [] for none')
    if not value:
        return None
    start, end = (_clock_time_at(item, i) for i, item in enumerate(value))
    if start == end:
        raise Invalid("must start and end at different times", (1,))
    return QuietHours(start, end)


def _clock_time_at(value: Any, position: int) -> time:
    try:
        return clock_time(value)
    except Invalid as invalid:
        raise Invalid(invalid.problems[0][1], (position,)) from None


@rules
class PushRules:
    """Messages the bot sends first. Marketing pushes wait out the quiet hours and respect the caps."""
    quiet_hours: Annotated[QuietHours | None, Checked(_quiet_hours)] = QuietHours(time(21, 30), time(9, 0))
    marketing_per_day: Annotated[int, Whole(1, 10)] = 1          # marketing pushes per member and day
    marketing_per_week: Annotated[int, Whole(1, 70)] = 3         # … and per calendar week (Monday to Sunday)

    @model_validator(mode="after")
    def _week_holds_a_day(self) -> "PushRules":
        if self.marketing_per_week < self.marketing_per_day:
            raise Invalid(f"must be at least push.marketing_per_day ({self.marketing_per_day})",
                          ("marketing_per_week",))
        return self


@rules
class Program:
    tiers: tuple[Tier, ...]
    points: PointsRules = Field(default_factory=PointsRules)
    tier_review: TierReview = Field(default_factory=TierReview)
    promotions: Promotions = Field(default_factory=Promotions)
    leaderboard: LeaderboardRules = Field(default_factory=LeaderboardRules)
    till: TillRules = Field(default_factory=TillRules)
    member_code: MemberCodeRules = Field(default_factory=MemberCodeRules)
    coupons: CouponRules = Field(default_factory=CouponRules)
    catalogue: CatalogueRules = Field(default_factory=CatalogueRules)
    birthday: BirthdayRules = Field(default_factory=BirthdayRules)
    referral: ReferralRules = Field(default_factory=ReferralRules)
    welcome: WelcomeRules = Field(default_factory=WelcomeRules)
    push: PushRules = Field(default_factory=PushRules)
    schedule: ScheduleRules = Field(default_factory=ScheduleRules)
    care: CareRules = Field(default_factory=CareRules)
    notices: NoticesRules = Field(default_factory=dict)
    events: EventRules = Field(default_factory=EventRules)
    broadcasts: BroadcastRules = Field(default_factory=BroadcastRules)
    service: ServiceRules = Field(default_factory=ServiceRules)
    survey: SurveyRules = Field(default_factory=SurveyRules)
    segments: SegmentRules = Field(default_factory=SegmentRules)
    lifecycle: LifecycleRules = Field(default_factory=LifecycleRules)
    targets: MetricTargets = Field(default_factory=MetricTargets)
    member_day: MemberDayRules = Field(default_factory=MemberDayRules)
    statement: StatementRules = Field(default_factory=StatementRules)
    retention: RetentionRules = Field(default_factory=RetentionRules)

    @field_validator("tiers", mode="after")
    @classmethod
    def _tiers_rise(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        problem = Invalid.of(_tier_order(tiers)) or Invalid.of(_replaced_benefits(tiers))
        if problem:
            raise problem
        return tiers

    @model_validator(mode="after")
    def _references_resolve(self) -> "Program":
        problem = Invalid.of(_references(self))
        if problem:
            raise problem
        return self

    @property
    def base_tier(self) -> Tier:
        return self.tiers[0]

    def tier(self, code: str) -> Tier:
        """The tier with this code; an unknown code (a tier removed from the file) counts as the base tier."""
        return next((t for t in self.tiers if t.code == code), self.base_tier)


def _tier_order(tiers: tuple[Tier, ...]) -> Iterator[tuple[Loc, str]]:
    at_zero = [i for i, tier in enumerate(tiers) if tier.threshold == 0]
    if len(at_zero) != 1:
        yield (), f"exactly one tier must have threshold 0 (found {len(at_zero)})"
        return
    if at_zero[0] != 0:
        yield (0, "threshold"), "the first tier must be the one with threshold 0 (list tiers from lowest to highest)"
        return
    seen: set[str] = set()
    for i, tier in enumerate(tiers):
        if tier.code in seen:
            yield (i, "code"), f"duplicate tier code {tier.code!r}"
        seen.add(tier.code)
        below = tiers[i - 1] if i else None
        if below and tier.threshold <= below.threshold:
            yield (i, "threshold"), f"must be above tiers[{i - 1}].threshold ({below.threshold})"
        if below and tier.multiplier < below.multiplier:
            yield (i, "multiplier"), (f"must be at least tiers[{i - 1}].multiplier ({below.multiplier}): "
                                      "thresholds rise with the multipliers")


def _replaced_benefits(tiers: tuple[Tier, ...]) -> Iterator[tuple[Loc, str]]:
    """A tier replaces benefits of lower tiers only (a misspelt one would leave both listed)."""
    for i, tier in enumerate(tiers):
        if tier.replaces and not tier.inherit_benefits:
            yield (i, "replaces"), "needs inherit_benefits = true (a tier that inherits nothing replaces nothing)"
            continue
        below = {benefit for lower in tiers[:i] for benefit in lower.benefits}
        for j, benefit in enumerate(tier.replaces):
            if benefit not in below:
                yield (i, "replaces", j), f"{benefit!r} is not a benefit of a lower tier"


def _references(program: Program) -> Iterator[tuple[Loc, str]]:
    """Every field typed as a reference names a tier or coupon template of this program."""
    known = {"tier": {t.code for t in program.tiers},
             "coupon template": {t.id for t in program.coupons.templates}}
    for loc, what, name in _named_references(program, ()):
        if name not in known[what.what]:
            yield loc, f"unknown {what.what} {name!r}"
    for category, template in program.segments.category_coupons.items():
        if template not in known["coupon template"]:
            yield ("segments", "category_coupons", category), f"unknown coupon template {template!r}"


def _named_references(value: Any, loc: Loc) -> Iterator[tuple[Loc, RefersTo, str]]:
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _named_references(item, (*loc, i))
        return
    if not dataclasses.is_dataclass(value):
        return
    for name, key, refers, key_refers in _reference_fields(type(value)):
        field_value = getattr(value, name)
        if refers and field_value:
            yield (*loc, key), refers, field_value
        elif isinstance(field_value, dict):
            for entry, item in field_value.items():
                if key_refers:
                    yield (*loc, key, entry), key_refers, entry
                yield from _named_references(item, (*loc, key, entry))
        else:
            yield from _named_references(field_value, (*loc, key))


@cache
def _reference_fields(table: type) -> list[tuple[str, str, RefersTo | None, RefersTo | None]]:
    """(attribute, key in the file, what the value refers to, what a dict's keys refer to) per field."""
    found = []
    for name, info in getattr(table, "__pydantic_fields__", {}).items():
        key_type = get_args(info.annotation)[0] if get_origin(info.annotation) is dict else None
        found.append((name, info.alias or name, _refers(info.metadata), _refers(getattr(key_type, "__metadata__", ()))))
    return found


def _refers(metadata) -> RefersTo | None:
    return next((m for m in metadata if isinstance(m, RefersTo)), None)


# -- loading ---------------------------------------------------------------------------------------
def load_program(path: Path | str | None = None) -> Program:
    """The program from `path`, or the packaged default when None."""
    if path is None:
        text = resources.files("loyalty_core").joinpath(DEFAULT_PROGRAM).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return parse_program(text)


def parse_program(text: str) -> Program:
    try:
        raw = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ProgramError("", f"not valid TOML: {error}") from None
    return program_from_dict(raw)


def program_from_dict(raw: Any) -> Program:
    return _validated(Program, raw, top_level=True)


def parse_coupon_template(raw: Any, path: str = "") -> CouponTemplate:
    """One template from the program file or the admin API (a JSON object of the same keys)."""
    return _validated(CouponTemplate, raw, path)


def parse_segment_table(raw: Any, path: str = "") -> Segment:
    return _validated(Segment, raw, path)


def parse_campaign_table(raw: Any) -> "CampaignDefinition":
    from .campaign_rules import CampaignDefinition     # it holds a Segment of segment_rules, as this module does
    return _validated(CampaignDefinition, raw)


def parse_catalogue_item(raw: Any, path: str = "") -> CatalogueItem:
    return _validated(CatalogueItem, raw, path)


@cache
def _adapter(table: type) -> TypeAdapter:
    return TypeAdapter(table)


def _validated(table: type, raw: Any, path: str = "", *, top_level: bool = False):
    try:
        return _adapter(table).validate_python(raw)
    except ValidationError as error:
        problems = [(_path(path, loc), problem) for loc, problem in _problems(error, top_level)]
        raise ProgramError(problems[0][0], problems[0][1], *problems[1:]) from None


def _problems(error: ValidationError, top_level: bool) -> Iterator[tuple[Loc, str]]:
    for detail in error.errors(include_url=False):
        loc, kind = tuple(detail["loc"]), detail["type"]
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, Invalid):
            for at, problem in cause.problems:
                yield (*loc, *at), problem
        elif kind in ("missing", "missing_argument"):
            yield loc, "is required"
        elif kind in ("extra_forbidden", "unexpected_keyword_argument"):
            yield loc, (f"unknown section (known: {', '.join(_sections())})" if top_level and len(loc) == 1
                        else "unknown key")
        elif kind in ("dataclass_type", "dataclass_args_type", "dict_type", "model_type"):
            yield loc, "must be a table"
        elif kind in ("tuple_type", "list_type", "set_type", "frozen_set_type"):
            yield loc, "must be a list"
        else:
            yield loc, detail["msg"]


def _sections() -> list[str]:
    return sorted(Program.__pydantic_fields__)


def _path(prefix: str, loc: Loc) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
