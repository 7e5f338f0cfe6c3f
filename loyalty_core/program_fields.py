"""The value types of the program file, with their bounds, as pydantic annotations.

A field says what it accepts where it is declared: ``member_day: Annotated[int, Whole(0, 31)] = 18``. Each
type checks its value itself and refuses it with the message operators read ("must be a whole number
between 0 and 31"); program.py puts the key path in front. Checks that look at several fields of one table
raise `Invalid` from a model validator, naming the key (relative to that table) they are about.

Values come from TOML read with ``parse_float=Decimal`` or from JSON (the admin API), so numbers are ints
or Decimals, never floats; money is Decimal, durations timedelta.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Callable, Iterable, TypeVar, dataclass_transform

from pydantic import ConfigDict, Field, PlainValidator
from pydantic.dataclasses import dataclass

from .clock import MALL_TZ

# Every table of the program file: an unknown key is an error; a key in the file may differ from the
# attribute it fills (`max_future_seconds` fills `max_future`), and code may pass either.
TABLE = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=True)

Loc = tuple[str | int, ...]
T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(Field,))
def rules(cls: type[T]) -> type[T]:
    """A table of the program file: a frozen dataclass whose fields are validated on construction."""
    return dataclass(frozen=True, config=TABLE)(cls)


class Invalid(ValueError):
    """One or more problems in a table: (key path relative to the table, what is wrong)."""

    def __init__(self, problem: str, at: Loc = (), *more: tuple[Loc, str]):
        self.problems: list[tuple[Loc, str]] = [(at, problem), *more]
        super().__init__(problem)

    @classmethod
    def of(cls, problems: Iterable[tuple[Loc, str]]) -> "Invalid | None":
        found = list(problems)
        return cls(found[0][1], found[0][0], *found[1:]) if found else None


def raise_duplicates(ids: Iterable[str], key: str, what: str, id_key: str = "id") -> None:
    """Refuse the second and later uses of an id in the list under `key`."""
    seen: set[str] = set()
    problems = []
    for i, value in enumerate(ids):
        if value in seen:
            problems.append(((key, i, id_key), f"duplicate {what} {value!r}"))
        seen.add(value)
    if problems:
        raise Invalid.of(problems)


def Checked(check: Callable[[Any], Any], *, optional: bool = False) -> PlainValidator:
    """A field type's validator from a check that returns the value to keep or raises Invalid; with
    `optional`, None passes as well."""
    return PlainValidator((lambda value: None if value is None else check(value)) if optional else check)


# -- numbers ---------------------------------------------------------------------------------------
def Whole(minimum: int = 0, maximum: int | None = None, *, optional: bool = False) -> PlainValidator:
    """A whole number in [minimum, maximum] (never a bool or a fraction); with `optional`, also None."""
    return Checked(_whole(minimum, maximum), optional=optional)


def _whole(minimum: int, maximum: int | None) -> Callable[[Any], int]:
    words = f"between {minimum} and {maximum}" if maximum is not None else f"≥ {minimum}"

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or \
                (maximum is not None and value > maximum):
            raise Invalid(f"must be a whole number {words}")
        return value
    return check


def Number(minimum: int | Decimal = 0, maximum: int | Decimal | None = None, *, above_minimum: bool = False,
           places: int | None = None, optional: bool = False) -> PlainValidator:
    """A Decimal ≥ minimum (> minimum with `above_minimum`) and ≤ maximum, from an int, a Decimal or a
    numeric string; with `places`, at most that many decimal places (kept quantized to them)."""
    words = f"must be a number {'>' if above_minimum else '≥'} {minimum}" + \
        (f" and ≤ {maximum}" if maximum is not None else "")
    step = Decimal(1).scaleb(-places) if places is not None else None

    def check(value: Any) -> Decimal:
        number = _decimal(value)
        if number is None or (number <= minimum if above_minimum else number < minimum) or \
                (maximum is not None and number > maximum):
            raise Invalid(words)
        if step is None:
            return number
        if number != number.quantize(step):
            raise Invalid(f"must have at most {places} decimal places")
        return number.quantize(step)
    return Checked(check, optional=optional)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        return None
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


MAX_MONEY = Decimal(1_000_000)
# CNY with at most 2 decimals (the fen), up to a million.
Money = Annotated[Decimal, Number(0, MAX_MONEY, places=2)]
OptionalMoney = Annotated[Decimal | None, Number(0, MAX_MONEY, places=2, optional=True)]
Multiplier = Annotated[Decimal, Number(1, 10)]


# -- durations: a whole number of a unit in the file, a timedelta in the program -----------------------
def Duration(unit: str, minimum: int, maximum: int) -> PlainValidator:
    """`unit` is a timedelta keyword ("days", "minutes", "seconds"); a timedelta given by code is kept as it is."""
    whole = _whole(minimum, maximum)
    return Checked(lambda value: value if isinstance(value, timedelta) else timedelta(**{unit: whole(value)}))


# -- text ------------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("must be non-empty text")
    return value.strip()


def _optional_text(value: Any) -> str:
    return "" if value in (None, "") else _text(value)


def _ident(value: Any) -> str:
    text = _text(value)
    if len(text) > 48 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in text):
        raise Invalid("must be 1-48 characters of A-Z a-z 0-9 - _ .")
    return text


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be true or false")
    return value


Text = Annotated[str, Checked(_text)]
OptionalText = Annotated[str, Checked(_optional_text)]      # "" = none
Ident = Annotated[str, Checked(_ident)]                      # ids that become part of Redis keys
Flag = Annotated[bool, Checked(_flag)]


class RefersTo:
    """Marks a field whose value names something defined elsewhere in the program (a tier, a coupon
    template); program.py checks every such reference once the whole file is read."""

    def __init__(self, what: str):
        self.what = what

    def __repr__(self) -> str:
        return f"RefersTo({self.what!r})"


TIER, COUPON_TEMPLATE = RefersTo("tier"), RefersTo("coupon template")
TierCode = Annotated[str, Checked(_text), TIER]
OptionalTierCode = Annotated[str, Checked(_optional_text), TIER]          # "" = every tier
TemplateId = Annotated[str, Checked(_text), COUPON_TEMPLATE]
OptionalTemplateId = Annotated[str, Checked(_optional_text), COUPON_TEMPLATE]   # "" = none


def OneOf(*choices: str) -> PlainValidator:
    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid(f"must be one of {', '.join(choices)}")
        return value
    return Checked(check)


# -- dates and times -------------------------------------------------------------------------------
def _day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):   # a TOML date-time is a datetime
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid("must be a date (YYYY-MM-DD)")


def _moment(value: Any, *, end: bool) -> datetime:
    """A datetime (the mall's time when it has no offset), or a date: its start, or for an end the start
    of the next day, so that `available_until = 2026-12-31` includes that day."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise Invalid("must be a date or a date and time") from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=MALL_TZ)
    if isinstance(value, date):
        return datetime.combine(value + timedelta(days=1) if end else value, time.min, MALL_TZ)
    raise Invalid("must be a date or a date and time")


def clock_time(value: Any) -> time:
    """HH:MM on a 24-hour clock."""
    if isinstance(value, str) and len(value.strip()) == 5 and value.strip()[2] == ":":
        hours, minutes = value.strip()[:2], value.strip()[3:]
        if hours.isdecimal() and minutes.isdecimal() and int(hours) < 24 and int(minutes) < 60:
            return time(int(hours), int(minutes))
    if isinstance(value, time) and not value.second and not value.microsecond and value.tzinfo is None:
        return value
    raise Invalid("must be a time of day (HH:MM)")


ClockTime = Annotated[time, Checked(clock_time)]
Day = Annotated[date, Checked(_day)]
OptionalDay = Annotated[date | None, Checked(_day, optional=True)]
Start = Annotated[datetime | None, Checked(lambda value: _moment(value, end=False), optional=True)]
End = Annotated[datetime | None, Checked(lambda value: _moment(value, end=True), optional=True)]
