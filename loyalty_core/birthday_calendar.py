"""Birthdays on the solar and the Chinese lunar calendar: parsing, words, and where a birthday falls.

Lunar dates come from the `lunar-python` library, which computes the calendar astronomically (it
agrees with the astronomical 寿星天文历 (sxtwl) where the `lunardate` tables do not,
e.g. in 1933, 1954 and 1978); nothing here keeps tables of its own, only lunar-python's months of
each year, cached. The rules of this module:
- A solar birthday on Feb 29 is kept on Feb 28 in common years.
- A lunar birthday is kept on the same lunar month and day each lunar year ("cycle"). Day 30 of a
  month that has only 29 days that year is kept on day 29. A birthday in a leap month (闰月) is kept in
  that leap month when the year has it, else on the same day of the regular month.
- The index label of a birthday names its month and day only ("solar:05-20", "lunar:04-26",
  "lunar:L04-26" for a leap month); `labels_on(day)` lists every label kept on a solar day, so the
  members to greet on a day are found without looking at anyone else's birthday.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import orjson
from lunar_python import LunarYear, Solar

from . import errors

SOLAR, LUNAR = "solar", "lunar"
EARLIEST_YEAR = 1900
LAST_LUNAR_YEAR = 2099
_SEP = r"\s*[-/.年]\s*"
_SOLAR_TEXT = re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}})\s*[-/.月]\s*(\d{{1,2}})\s*日?")
_LUNAR_TEXT = re.compile(rf"(\d{{4}}){_SEP}(闰|閏|[lLrR])?\s*(\d{{1,2}})\s*[-/.月]\s*(\d{{1,2}})\s*日?")
_MONTHS = ("正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊")
_DAY_TENS = ("初", "十", "廿", "三")
_DIGITS = ("十", "一", "二", "三", "四", "五", "六", "七", "八", "九")
_STEMS, _BRANCHES = "甲乙丙丁戊己庚辛壬癸", "子丑寅卯辰巳午未申酉戌亥"


@dataclass(frozen=True)
class Birthday:
    calendar: str        # "solar" | "lunar"
    year: int
    month: int
    day: int
    leap: bool = False   # lunar only: the birthday is in the leap month (闰月)

    def to_json(self) -> str:
        return orjson.dumps(self).decode()          # orjson writes a dataclass's fields as asdict would

    @classmethod
    def from_json(cls, raw: str) -> "Birthday":
        return cls(**orjson.loads(raw))

    @property
    def is_lunar(self) -> bool:
        return self.calendar == LUNAR


@dataclass(frozen=True)
class Occurrence:
    """Where a birthday falls in one cycle (solar year, or lunar year for a lunar birthday)."""
    cycle: int
    day: date
    window_start: date
    window_end: date     # inclusive

    def contains(self, day: date) -> bool:
        return self.window_start <= day <= self.window_end


# -- parsing and words ---------------------------------------------------------------------------------
def parse_birthday(text: str, kind: str, today: date) -> Birthday:
    """`1990-05-20` (solar) or `1990-04-26` / `1990-闰04-26` (lunar). Raises InvalidBirthday(reason=…):
    format, no_such_date, no_leap_month, too_early, future."""
    pattern = _LUNAR_TEXT if kind == LUNAR else _SOLAR_TEXT
    found = pattern.fullmatch((text or "").strip())
    if not found:
        raise errors.InvalidBirthday(reason="format", lunar=kind == LUNAR)
    if kind == LUNAR:
        year, leap, month, day = int(found[1]), bool(found[2]), int(found[3]), int(found[4])
    else:
        year, leap, month, day = int(found[1]), False, int(found[2]), int(found[3])
    birthday = Birthday(kind, year, month, day, leap)
    check_birthday(birthday, today)
    return birthday


def check_birthday(birthday: Birthday, today: date) -> None:
    if birthday.year < EARLIEST_YEAR:
        raise errors.InvalidBirthday(reason="too_early", lunar=birthday.is_lunar)
    if birthday.year > today.year:
        raise errors.InvalidBirthday(reason="future", lunar=birthday.is_lunar)
    if birthday.is_lunar and birthday.leap and leap_month_of(birthday.year) != birthday.month:
        actual = leap_month_of(birthday.year)
        raise errors.InvalidBirthday(reason="no_leap_month", lunar=True, year=birthday.year,
                                     leap_month=f"闰{_MONTHS[actual - 1]}月" if actual else "")
    born = birth_date(birthday)
    if born is None:
        raise errors.InvalidBirthday(reason="no_such_date", lunar=birthday.is_lunar)
    if born > today:
        raise errors.InvalidBirthday(reason="future", lunar=birthday.is_lunar)


def birth_date(birthday: Birthday) -> date | None:
    """The solar date the member was born on; None when no such date exists."""
    try:
        if birthday.is_lunar:
            return lunar_to_solar(birthday.year, birthday.month, birthday.day, birthday.leap)
        return date(birthday.year, birthday.month, birthday.day)
    except ValueError:
        return None


def lunar_month_day_words(month: int, day: int, leap: bool = False) -> str:
    """四月廿六, 闰四月廿六, 正月初一, 腊月三十."""
    return f"{'闰' if leap else ''}{_MONTHS[month - 1]}月{lunar_day_words(day)}"


def lunar_day_words(day: int) -> str:
    if day == 10:
        return "初十"
    if day in (20, 30):
        return "二十" if day == 20 else "三十"
    return _DAY_TENS[day // 10] + _DIGITS[day % 10]


def ganzhi_year(lunar_year: int) -> str:
    """The sexagenary name of a lunar year: 1990 -> 庚午."""
    return _STEMS[(lunar_year - 4) % 10] + _BRANCHES[(lunar_year - 4) % 12]


def solar_words(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def birthday_words(birthday: Birthday) -> str:
    """公历 1990年5月20日 / 农历 1990年（庚午年）闰四月廿六（公历 1990年6月19日）."""
    born = birth_date(birthday)
    if not birthday.is_lunar:
        return f"公历 {solar_words(born)}"
    lunar = lunar_month_day_words(birthday.month, birthday.day, birthday.leap)
    return f"农历 {birthday.year}年（{ganzhi_year(birthday.year)}年）{lunar}（公历 {solar_words(born)}）"


def kept_words(birthday: Birthday) -> str:
    """How the birthday is kept each year: 每年5月20日 / 每年农历闰四月廿六."""
    if birthday.is_lunar:
        return f"每年农历{lunar_month_day_words(birthday.month, birthday.day, birthday.leap)}"
    return f"每年{birthday.month}月{birthday.day}日"


# -- the lunar calendar (lunar-python), in plain dates and numbers -----------------------------------------------
@lru_cache(maxsize=256)
def _lunar_months(year: int) -> dict[tuple[int, bool], tuple[date, int]]:
    """(month, leap) -> (its first solar day, its 29 or 30 days), for each month of a lunar year. Computed
    once per year: lunar-python keeps only the last year it computed (milliseconds each), and reading a
    date through `Lunar` costs hundreds of microseconds — too much for the purchase path."""
    months = {}
    for month in LunarYear.fromYear(year).getMonthsInYear():
        first = Solar.fromJulianDay(month.getFirstJulianDay())
        months[abs(month.getMonth()), month.isLeap()] = (date(first.getYear(), first.getMonth(), first.getDay()),
                                                         month.getDayCount())
    return months


def lunar_month_days(year: int, month: int, leap: bool = False) -> int:
    """29 or 30: how many days the lunar month has in that lunar year."""
    return _lunar_months(year)[month, leap][1]


def leap_month_of(year: int) -> int | None:
    return next((month for month, leap in _lunar_months(year) if leap), None)


def lunar_to_solar(year: int, month: int, day: int, leap: bool = False) -> date:
    """The solar date of a lunar date; ValueError when that lunar date does not exist."""
    if not EARLIEST_YEAR <= year <= LAST_LUNAR_YEAR or not 1 <= day <= 30:
        raise ValueError("no such lunar date")
    first, days = _lunar_months(year).get((month, leap), (None, 0))
    if first is None or day > days:
        raise ValueError("no such lunar date")
    return first + timedelta(days=day - 1)


@lru_cache(maxsize=1024)
def lunar_date_of(day: date) -> tuple[int, int, int, bool]:
    """(lunar year, month, day, leap) of a solar day."""
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    return lunar.getYear(), abs(lunar.getMonth()), lunar.getDay(), lunar.getMonth() < 0


# -- where a birthday falls --------------------------------------------------------------------------------
@lru_cache(maxsize=65536)
def kept_on(birthday: Birthday, cycle: int) -> date | None:
    """The solar date the birthday is kept on in `cycle` (a solar year, or a lunar year for a lunar
    birthday); None outside the calendar's range."""
    if not birthday.is_lunar:
        if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(cycle):
            return date(cycle, 2, 28)
        return date(cycle, birthday.month, birthday.day)
    if not EARLIEST_YEAR <= cycle <= LAST_LUNAR_YEAR:
        return None
    leap = birthday.leap and leap_month_of(cycle) == birthday.month
    day = min(birthday.day, lunar_month_days(cycle, birthday.month, leap))
    return lunar_to_solar(cycle, birthday.month, day, leap)


def occurrence(birthday: Birthday, cycle: int, window: "WindowRule") -> Occurrence | None:
    day = kept_on(birthday, cycle)
    if day is None:
        return None
    start, end = window.bounds(day)
    return Occurrence(cycle, day, start, end)


def current_or_next(birthday: Birthday, today: date, window: "WindowRule") -> Occurrence | None:
    """The occurrence whose window contains `today`, else the next one (its window opens later)."""
    # A lunar cycle's date lies in its own solar year or early in the next, so these three cycles
    # always include the occurrence around today; windows of different cycles never overlap.
    for cycle in (today.year - 1, today.year, today.year + 1):
        found = occurrence(birthday, cycle, window)
        if found is not None and found.window_end >= today:
            return found
    return None


@dataclass(frozen=True)
class WindowRule:
    """The birthday window: the calendar month of the day it is kept on, or some days around it."""
    kind: str = "month"      # month | days
    days_before: int = 0
    days_after: int = 0

    def bounds(self, day: date) -> tuple[date, date]:
        if self.kind == "month":
            last = calendar.monthrange(day.year, day.month)[1]
            return day.replace(day=1), day.replace(day=last)
        return day - timedelta(days=self.days_before), day + timedelta(days=self.days_after)


# -- the index: which birthdays are kept on a day -------------------------------------------------------------
def index_label(birthday: Birthday) -> str:
    if birthday.is_lunar:
        return f"lunar:{'L' if birthday.leap else ''}{birthday.month:02d}-{birthday.day:02d}"
    return f"solar:{birthday.month:02d}-{birthday.day:02d}"


def labels_on(day: date) -> tuple[str, ...]:
    """Every index label whose birthdays are kept on this solar day (see the module's rules)."""
    labels = [f"solar:{day.month:02d}-{day.day:02d}"]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        labels.append("solar:02-29")
    year, month, lunar_day, leap = lunar_date_of(day)
    days = [lunar_day]
    if lunar_day == 29 and lunar_month_days(year, month, leap) == 29:
        days.append(30)
    if leap:
        months = [f"L{month:02d}"]
    elif leap_month_of(year) == month:
        months = [f"{month:02d}"]                  # leap-month birthdays wait for the leap month
    else:
        months = [f"{month:02d}", f"L{month:02d}"]
    labels += [f"lunar:{m}-{d:02d}" for m in months for d in days]
    return tuple(labels)

