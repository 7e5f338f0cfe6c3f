"""The program's rules, loaded from a TOML file and checked once at start.

Each top-level section of the file has one parse function, registered with `@section("name")`, and a
field of the same name on `Program`. Adding a section (e.g. `[coupons]`) means: a frozen dataclass, a
parse function reading it through `Table`, and a `Program` field. A section the file names but nobody
registered is an error, so a typo such as `[promotion]` cannot pass silently. Every problem is reported
as one `ProgramError` naming the key path: ``tiers[2].threshold: must be a number ≥ 0``.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Callable

DEFAULT_PROGRAM = "program_default.toml"
WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_MISSING: Any = object()


class ProgramError(ValueError):
    def __init__(self, path: str, problem: str):
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}" if path else problem)


# -- the rules -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PointsRules:
    base_rate: Decimal = Decimal(1)
    lot_lifetime_months: int = 12
    expiry_warning_days: int = 30


@dataclass(frozen=True)
class Tier:
    code: str
    name: str
    threshold: Decimal          # CNY of spend over the window
    multiplier: Decimal
    upgrade_reward: int         # points, granted once per member the first time the tier is reached
    benefits: tuple[str, ...] = ()

    @property
    def threshold_fen(self) -> int:
        return int(self.threshold * 100)


@dataclass(frozen=True)
class TierReview:
    spend_window_months: int = 12
    review_interval_months: int = 12


@dataclass(frozen=True)
class Promotions:
    double_points_multiplier: Decimal = Decimal(2)
    double_points_dates: frozenset[date] = frozenset()
    double_points_weekdays: frozenset[int] = frozenset()   # ISO weekdays, Monday = 1
    member_day: int = 18                                     # 0 = none
    member_day_multiplier: Decimal = Decimal(2)
    birthday_multiplier: Decimal = Decimal(2)


@dataclass(frozen=True)
class LeaderboardRules:
    size: int = 10


@dataclass(frozen=True)
class TillRules:
    max_purchase_amount: Decimal = Decimal(500_000)
    max_future: timedelta = timedelta(seconds=300)
    max_backdate: timedelta = timedelta(days=90)


@dataclass(frozen=True)
class MemberCodeRules:
    validity: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Program:
    tiers: tuple[Tier, ...]
    points: PointsRules = field(default_factory=PointsRules)
    tier_review: TierReview = field(default_factory=TierReview)
    promotions: Promotions = field(default_factory=Promotions)
    leaderboard: LeaderboardRules = field(default_factory=LeaderboardRules)
    till: TillRules = field(default_factory=TillRules)
    member_code: MemberCodeRules = field(default_factory=MemberCodeRules)

    @property
    def base_tier(self) -> Tier:
        return self.tiers[0]

    def tier(self, code: str) -> Tier:
        """The tier with this code; an unknown code (a tier removed from the file) counts as the base tier."""
        return next((t for t in self.tiers if t.code == code), self.base_tier)


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
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProgramError("", f"not valid TOML: {error}") from None
    return program_from_dict(raw)


def program_from_dict(raw: dict) -> Program:
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ProgramError(unknown[0], f"unknown section (known: {', '.join(sorted(SECTIONS))})")
    return Program(**{name: parse(raw.get(name, _MISSING), name) for name, parse in SECTIONS.items()})


SectionParser = Callable[[Any, str], Any]
SECTIONS: dict[str, SectionParser] = {}


def section(name: str):
    """Register the parse function of a top-level section: parse(raw value or _MISSING, path)."""
    def register(parse: SectionParser) -> SectionParser:
        if name in SECTIONS:
            raise ValueError(f"section {name!r} registered twice")
        SECTIONS[name] = parse
        return parse
    return register


class Table:
    """One TOML table being read: typed getters that name the key path in errors, and a check that
    no key was left unread (a misspelt key is an error, not a silently ignored setting)."""

    def __init__(self, raw: Any, path: str):
        if raw is _MISSING:
            raw = {}
        if not isinstance(raw, dict):
            raise ProgramError(path, "must be a table")
        self.raw, self.path = raw, path
        self._read: set[str] = set()

    def _get(self, key: str, default: Any) -> Any:
        self._read.add(key)
        if key in self.raw:
            return self.raw[key]
        if default is _MISSING:
            raise ProgramError(self.at(key), "is required")
        return default

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def decimal(self, key: str, default: Any = _MISSING, *, minimum: Decimal | int = 0,
                maximum: Decimal | int | None = None, above_minimum: bool = False) -> Decimal:
        value = self._get(key, default)
        number = _as_decimal(value)
        low_ok = number is not None and (number > minimum if above_minimum else number >= minimum)
        if not low_ok or (maximum is not None and number > maximum):
            sign = ">" if above_minimum else "≥"
            bound = f" and ≤ {maximum}" if maximum is not None else ""
            raise ProgramError(self.at(key), f"must be a number {sign} {minimum}{bound}")
        return number

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or \
                (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            raise ProgramError(self.at(key), f"must be a whole number between {minimum}{upper}"
                               if upper else f"must be a whole number ≥ {minimum}")
        return value

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ProgramError(self.at(key), "must be non-empty text")
        return value.strip()

    def texts(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self._get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ProgramError(self.at(key), "must be a list of non-empty texts")
        return tuple(v.strip() for v in value)

    def dates(self, key: str, default: Any = _MISSING) -> frozenset[date]:
        value = self._get(key, default)
        if not isinstance(value, list):
            raise ProgramError(self.at(key), "must be a list of dates (YYYY-MM-DD)")
        return frozenset(_as_date(item, f"{self.at(key)}[{i}]") for i, item in enumerate(value))

    def tables(self, key: str) -> list["Table"]:
        value = self._get(key, [])
        if not isinstance(value, list) or not value:
            raise ProgramError(self.at(key), "must be a non-empty list of tables")
        return [Table(item, f"{self.at(key)}[{i}]") for i, item in enumerate(value)]

    def done(self) -> None:
        unread = sorted(set(self.raw) - self._read)
        if unread:
            raise ProgramError(self.at(unread[0]), "unknown key")


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _as_date(value: Any, path: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ProgramError(path, "must be a date (YYYY-MM-DD)")


# -- one parse function per section --------------------------------------------------------------
@section("points")
def parse_points(raw: Any, path: str) -> PointsRules:
    t = Table(raw, path)
    rules = PointsRules(
        base_rate=t.decimal("base_rate", Decimal(1), minimum=0, maximum=100, above_minimum=True),
        lot_lifetime_months=t.integer("lot_lifetime_months", 12, minimum=1, maximum=120),
        expiry_warning_days=t.integer("expiry_warning_days", 30, minimum=1, maximum=365),
    )
    t.done()
    if rules.expiry_warning_days >= rules.lot_lifetime_months * 28:
        raise ProgramError(t.at("expiry_warning_days"),
                           f"must be shorter than the lot lifetime ({rules.lot_lifetime_months} months)")
    return rules


@section("tiers")
def parse_tiers(raw: Any, path: str) -> tuple[Tier, ...]:
    if raw is _MISSING:
        raise ProgramError(path, "is required: at least the tier with threshold 0")
    if not isinstance(raw, list) or not raw:
        raise ProgramError(path, "must be a non-empty list of [[tiers]] tables")
    tiers = tuple(_parse_tier(Table(item, f"{path}[{i}]")) for i, item in enumerate(raw))
    _check_tier_order(tiers, path)
    return tiers


def _parse_tier(t: Table) -> Tier:
    tier = Tier(
        code=t.text("code"), name=t.text("name"),
        threshold=t.decimal("threshold", minimum=0),
        multiplier=t.decimal("multiplier", minimum=0, maximum=10, above_minimum=True),
        upgrade_reward=t.integer("upgrade_reward", 0, minimum=0, maximum=10_000_000),
        benefits=t.texts("benefits", []),
    )
    if tier.threshold != tier.threshold.quantize(Decimal("0.01")):
        raise ProgramError(t.at("threshold"), "must have at most 2 decimal places")
    t.done()
    return tier


def _check_tier_order(tiers: tuple[Tier, ...], path: str) -> None:
    at_zero = [i for i, tier in enumerate(tiers) if tier.threshold == 0]
    if len(at_zero) != 1:
        raise ProgramError(path, f"exactly one tier must have threshold 0 (found {len(at_zero)})")
    if at_zero[0] != 0:
        raise ProgramError(f"{path}[0].threshold", "the first tier must be the one with threshold 0 "
                           "(list tiers from lowest to highest)")
    seen: set[str] = set()
    for i, tier in enumerate(tiers):
        if tier.code in seen:
            raise ProgramError(f"{path}[{i}].code", f"duplicate tier code {tier.code!r}")
        seen.add(tier.code)
        if i == 0:
            continue
        below = tiers[i - 1]
        if tier.threshold <= below.threshold:
            raise ProgramError(f"{path}[{i}].threshold",
                               f"must be above {path}[{i - 1}].threshold ({below.threshold})")
        if tier.multiplier < below.multiplier:
            raise ProgramError(f"{path}[{i}].multiplier",
                               f"must be at least {path}[{i - 1}].multiplier ({below.multiplier}): "
                               "thresholds rise with the multipliers")


@section("tier_review")
def parse_tier_review(raw: Any, path: str) -> TierReview:
    t = Table(raw, path)
    rules = TierReview(spend_window_months=t.integer("spend_window_months", 12, minimum=1, maximum=60),
                       review_interval_months=t.integer("review_interval_months", 12, minimum=1, maximum=60))
    t.done()
    return rules


@section("promotions")
def parse_promotions(raw: Any, path: str) -> Promotions:
    t = Table(raw, path)
    multiplier = dict(minimum=1, maximum=10)
    rules = Promotions(
        double_points_multiplier=t.decimal("double_points_multiplier", Decimal(2), **multiplier),
        double_points_dates=t.dates("double_points_dates", []),
        double_points_weekdays=_weekdays(t, "double_points_weekdays"),
        member_day=t.integer("member_day", 18, minimum=0, maximum=31),
        member_day_multiplier=t.decimal("member_day_multiplier", Decimal(2), **multiplier),
        birthday_multiplier=t.decimal("birthday_multiplier", Decimal(2), **multiplier),
    )
    t.done()
    return rules


def _weekdays(t: Table, key: str) -> frozenset[int]:
    names = t.texts(key, [])
    unknown = [n for n in names if n.lower()[:3] not in WEEKDAYS]
    if unknown:
        raise ProgramError(t.at(key), f"unknown weekday {unknown[0]!r} (use mon, tue, wed, thu, fri, sat, sun)")
    return frozenset(WEEKDAYS[n.lower()[:3]] for n in names)


@section("leaderboard")
def parse_leaderboard(raw: Any, path: str) -> LeaderboardRules:
    t = Table(raw, path)
    rules = LeaderboardRules(size=t.integer("size", 10, minimum=1, maximum=100))
    t.done()
    return rules


@section("till")
def parse_till(raw: Any, path: str) -> TillRules:
    t = Table(raw, path)
    rules = TillRules(
        max_purchase_amount=t.decimal("max_purchase_amount", Decimal(500_000), minimum=0, maximum=10_000_000,
                                      above_minimum=True),
        max_future=timedelta(seconds=t.integer("max_future_seconds", 300, minimum=0, maximum=86_400)),
        max_backdate=timedelta(days=t.integer("max_backdate_days", 90, minimum=1, maximum=365)),
    )
    t.done()
    return rules


@section("member_code")
def parse_member_code(raw: Any, path: str) -> MemberCodeRules:
    t = Table(raw, path)
    rules = MemberCodeRules(validity=timedelta(minutes=t.integer("validity_minutes", 5, minimum=1, maximum=60)))
    t.done()
    return rules
