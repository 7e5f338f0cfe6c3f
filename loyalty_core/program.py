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
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from .birthday_calendar import WindowRule
from .catalogue import ITEM_KINDS, CatalogueItem, CatalogueRules, Prize
from .clock import MALL_TZ
from .coupon_rules import COUPON_KINDS, CouponRules, CouponTemplate
from .perk_rules import GIFT_KINDS, BirthdayRules, Gift, ReferralRules, ReferrerLevel

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
    upgrade_grace_days: int = 30      # a refund this soon after an upgrade that undoes it reverts it (0 = never)


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
    coupons: CouponRules = field(default_factory=CouponRules)
    catalogue: CatalogueRules = field(default_factory=CatalogueRules)
    birthday: BirthdayRules = field(default_factory=BirthdayRules)
    referral: ReferralRules = field(default_factory=ReferralRules)

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
    if isinstance(value, date) and not isinstance(value, datetime):   # a TOML date-time is a datetime
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
                       review_interval_months=t.integer("review_interval_months", 12, minimum=1, maximum=60),
                       upgrade_grace_days=t.integer("upgrade_grace_days", 30, minimum=0, maximum=365))
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


# -- coupons and the rewards catalogue (loyalty_core/coupon_rules.py, catalogue.py) --------------------
MAX_MONEY = Decimal(1_000_000)


@section("coupons")
def parse_coupons(raw: Any, path: str) -> CouponRules:
    t = Table(raw, path)
    templates = tuple(coupon_template(item) for item in t.tables("templates")) if "templates" in t.raw else ()
    names = _text_map(t, "category_names")
    t.done()
    _unique([x.id for x in templates], f"{t.at('templates')}", "template id")
    return CouponRules(templates=templates, category_names=tuple(names.items()))


@section("catalogue")
def parse_catalogue(raw: Any, path: str) -> CatalogueRules:
    t = Table(raw, path)
    items = tuple(catalogue_item(item) for item in t.tables("items")) if "items" in t.raw else ()
    rules = CatalogueRules(
        items=items, page_size=t.integer("page_size", 5, minimum=1, maximum=20),
        confirm_window=timedelta(seconds=t.integer("confirm_seconds", 120, minimum=10, maximum=3600)),
        reservation_timeout=timedelta(seconds=t.integer("reservation_timeout_seconds", 120, minimum=10,
                                                        maximum=86_400)))
    t.done()
    _unique([x.id for x in items], t.at("items"), "item id")
    return rules


def parse_coupon_template(raw: Any, path: str = "") -> CouponTemplate:
    """One template from the program file or the admin API (a JSON object of the same keys)."""
    return coupon_template(Table(raw, path))


def parse_catalogue_item(raw: Any, path: str = "") -> CatalogueItem:
    return catalogue_item(Table(raw, path))


def coupon_template(t: Table) -> CouponTemplate:
    template = CouponTemplate(
        id=_ident(t, "id"), title=t.text("title"), kind=_choice(t, "kind", COUPON_KINDS),
        value=_money(t, "value", 0), min_amount=_money(t, "min_amount", 0),
        percent_off=t.decimal("percent_off", 0, minimum=0, maximum=99),
        max_discount=_money(t, "max_discount", None), sku=_optional_text(t, "sku"), gift=_optional_text(t, "gift"),
        max_free=t.integer("max_free", 1, minimum=1, maximum=100),
        categories=t.texts("categories", []), stores=t.texts("stores", []),
        valid_from=_optional_date(t, "valid_from"), valid_until=_optional_date(t, "valid_until"),
        valid_days=_optional_integer(t, "valid_days", minimum=0, maximum=3650),
        per_member_limit=t.integer("per_member_limit", 0, minimum=0, maximum=1000),
        total_limit=t.integer("total_limit", 0, minimum=0, maximum=100_000_000), min_tier=_optional_text(t, "min_tier"))
    t.done()
    _check_template(template, t)
    return template


def _check_template(x: CouponTemplate, t: Table) -> None:
    needs = {"cash_off": ("value", x.value > 0), "threshold": ("value", x.value > 0),
             "percentage": ("percent_off", x.percent_off > 0), "gift": ("gift", bool(x.gift or x.sku)),
             "voucher": ("gift", bool(x.gift))}
    key, satisfied = needs.get(x.kind, ("kind", True))
    if not satisfied:
        raise ProgramError(t.at(key), f"is required for a {x.kind} coupon")
    if x.kind == "threshold" and x.min_amount < x.value:
        raise ProgramError(t.at("min_amount"), "must be at least the value of a threshold coupon (满减)")
    if (x.valid_days is None) == (x.valid_until is None):
        raise ProgramError(t.at("valid_days"), "give either valid_days or valid_until (with optional valid_from)")
    if x.valid_from and x.valid_until and x.valid_from > x.valid_until:
        raise ProgramError(t.at("valid_from"), "must not be after valid_until")


def catalogue_item(t: Table) -> CatalogueItem:
    item = CatalogueItem(
        id=_ident(t, "id"), title=t.text("title"), points=t.integer("points", minimum=1, maximum=10_000_000),
        kind=_choice(t, "kind", ITEM_KINDS), template=_optional_text(t, "template"),
        voucher=_optional_text(t, "voucher"), valid_days=t.integer("valid_days", 30, minimum=1, maximum=3650),
        prizes=tuple(_prize(p) for p in t.tables("prizes")) if "prizes" in t.raw else (),
        stock=_optional_integer(t, "stock", minimum=0, maximum=100_000_000),
        per_member_limit=t.integer("per_member_limit", 0, minimum=0, maximum=1000),
        min_tier=_optional_text(t, "min_tier"), available_from=_optional_moment(t, "available_from", end=False),
        available_until=_optional_moment(t, "available_until", end=True),
        description=_optional_text(t, "description"))
    t.done()
    required = {"coupon": ("template", item.template), "voucher": ("voucher", item.voucher),
                "lottery": ("prizes", item.prizes)}[item.kind]
    if not required[1]:
        raise ProgramError(t.at(required[0]), f"is required for a {item.kind} item")
    return item


def _prize(t: Table) -> Prize:
    prize = Prize(title=t.text("title"), weight=t.integer("weight", minimum=1, maximum=1_000_000),
                  template=_optional_text(t, "template"), points=t.integer("points", 0, minimum=0, maximum=1_000_000))
    t.done()
    return prize


def check_rewards(program: "Program") -> None:
    """References between sections: the templates and tiers the catalogue and the coupons name exist."""
    templates = {x.id for x in program.coupons.templates}
    tiers = {x.code for x in program.tiers}
    for i, x in enumerate(program.coupons.templates):
        if x.min_tier and x.min_tier not in tiers:
            raise ProgramError(f"coupons.templates[{i}].min_tier", f"unknown tier {x.min_tier!r}")
    for i, item in enumerate(program.catalogue.items):
        path = f"catalogue.items[{i}]"
        if item.min_tier and item.min_tier not in tiers:
            raise ProgramError(f"{path}.min_tier", f"unknown tier {item.min_tier!r}")
        if item.template and item.template not in templates:
            raise ProgramError(f"{path}.template", f"unknown coupon template {item.template!r}")
        for j, prize in enumerate(item.prizes):
            if prize.template and prize.template not in templates:
                raise ProgramError(f"{path}.prizes[{j}].template", f"unknown coupon template {prize.template!r}")


def _ident(t: Table, key: str) -> str:
    value = t.text(key)
    if not all(c.isascii() and (c.isalnum() or c in "-_.") for c in value) or len(value) > 48:
        raise ProgramError(t.at(key), "must be 1-48 characters of A-Z a-z 0-9 - _ .")
    return value


def _choice(t: Table, key: str, choices: tuple[str, ...]) -> str:
    value = t.text(key)
    if value not in choices:
        raise ProgramError(t.at(key), f"must be one of {', '.join(choices)}")
    return value


def _money(t: Table, key: str, default: Any) -> Any:
    if default is None and key not in t.raw:
        t._get(key, None)
        return None
    amount = t.decimal(key, default, minimum=0, maximum=MAX_MONEY)
    if amount != amount.quantize(Decimal("0.01")):
        raise ProgramError(t.at(key), "must have at most 2 decimal places")
    return amount.quantize(Decimal("0.01"))


def _optional_text(t: Table, key: str) -> str:
    value = t._get(key, "")
    return "" if value in (None, "") else t.text(key)


def _optional_integer(t: Table, key: str, *, minimum: int, maximum: int) -> int | None:
    if t.raw.get(key) is None:
        t._get(key, None)
        return None
    return t.integer(key, minimum=minimum, maximum=maximum)


def _optional_date(t: Table, key: str) -> date | None:
    value = t._get(key, None)
    return None if value is None else _as_date(value, t.at(key))


def _optional_moment(t: Table, key: str, *, end: bool) -> datetime | None:
    """A datetime (the mall's time when it has no offset), or a date: its start, or for an end the
    start of the next day, so `available_until = 2026-12-31` includes that day."""
    value = t._get(key, None)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            text = value.strip()
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ProgramError(t.at(key), "must be a date or a date and time") from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=MALL_TZ)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return datetime.combine(day, datetime.min.time(), MALL_TZ)
    raise ProgramError(t.at(key), "must be a date or a date and time")


def _text_map(t: Table, key: str) -> dict[str, str]:
    value = t._get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise ProgramError(t.at(key), "must be a table of texts")
    return {k: v.strip() for k, v in value.items()}


def _unique(ids: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            raise ProgramError(f"{path}[{i}].id", f"duplicate {what} {value!r}")
        seen.add(value)


# -- birthday privileges and referrals (loyalty_core/perk_rules.py) -----------------------------------------
@section("birthday")
def parse_birthday(raw: Any, path: str) -> BirthdayRules:
    t = Table(raw, path)
    kind = _choice(t, "window", ("month", "days")) if "window" in t.raw else "month"
    window = WindowRule(kind, t.integer("days_before", 0, minimum=0, maximum=90),
                        t.integer("days_after", 0, minimum=0, maximum=90))
    gifts = t._get("gifts", {})
    if not isinstance(gifts, dict):
        raise ProgramError(t.at("gifts"), "must be a table: one [birthday.gifts.<tier code>] per tier")
    rules = BirthdayRules(window=window, confirm_minutes=t.integer("confirm_minutes", 10, minimum=1, maximum=60),
                          gifts=tuple((code, _gift(Table(gift, f"{t.at('gifts')}.{code}")))
                                      for code, gift in gifts.items()))
    t.done()
    return rules


def _gift(t: Table) -> Gift:
    gift = Gift(kind=_choice(t, "kind", GIFT_KINDS), title=t.text("title"),
                points=t.integer("points", 0, minimum=0, maximum=1_000_000), template=_optional_text(t, "template"),
                valid_days=t.integer("valid_days", 30, minimum=1, maximum=365))
    t.done()
    if gift.kind == "points" and gift.points <= 0:
        raise ProgramError(t.at("points"), "is required (> 0) for a points gift")
    if gift.kind == "coupon" and not gift.template:
        raise ProgramError(t.at("template"), "is required for a coupon gift")
    return gift


@section("referral")
def parse_referral(raw: Any, path: str) -> ReferralRules:
    t = Table(raw, path)
    levels = tuple(_referrer_level(item) for item in t.tables("levels")) if "levels" in t.raw else \
        ReferralRules().levels
    rules = ReferralRules(
        referrer_points=t.integer("referrer_points", 500, minimum=0, maximum=1_000_000),
        referrer_coupon=_optional_text(t, "referrer_coupon"),
        referee_points=t.integer("referee_points", 200, minimum=0, maximum=1_000_000),
        referee_coupon=_optional_text(t, "referee_coupon"),
        refund_window=timedelta(days=t.integer("refund_window_days", 7, minimum=0, maximum=90)),
        unfollowed_hold_days=t.integer("unfollowed_hold_days", 30, minimum=0, maximum=365),
        monthly_cap=t.integer("monthly_cap", 20, minimum=1, maximum=10_000),
        require_phone=_flag(t, "require_phone", True), levels=levels,
        qr_days=t.integer("qr_days", 30, minimum=2, maximum=30),
        leaderboard_size=t.integer("leaderboard_size", 10, minimum=1, maximum=100))
    t.done()
    _unique([level.code for level in levels], t.at("levels"), "level code")
    return rules


def _referrer_level(t: Table) -> ReferrerLevel:
    level = ReferrerLevel(code=_ident(t, "code"), name=t.text("name"),
                          min_rewarded=t.integer("min_rewarded", minimum=1, maximum=100_000),
                          multiplier=t.decimal("multiplier", minimum=1, maximum=10))
    t.done()
    return level


def _flag(t: Table, key: str, default: bool) -> bool:
    value = t._get(key, default)
    if not isinstance(value, bool):
        raise ProgramError(t.at(key), "must be true or false")
    return value
