"""Recurring campaigns' timetables: five-field cron expressions ("minute hour day-of-month month day-of-week"),
in the mall's time. Each field is `*`, a number, a range `a-b`, a list `a,b,c` or any of those with a step
`/n`; day of week 0-6 from Sunday (7 is Sunday too). As in cron, when both day fields are restricted a day
matching either counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import MALL_TZ

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
SEARCH_DAYS = 366 * 5


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def day_matches(self, moment: datetime) -> bool:
        if moment.month not in self.months:
            return False
        by_day, by_weekday = moment.day in self.days, (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, moment: datetime) -> datetime:
        """The first minute after `moment` the expression names (raises CronError if none within 5 years)."""
        local = moment.astimezone(MALL_TZ).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = local.replace(hour=0, minute=0)
        for _ in range(SEARCH_DAYS):
            if self.day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= local:
                            return candidate
            day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        raise CronError("names no time in the next five years")


def parse_cron(text: str) -> Cron:
    parts = text.split() if isinstance(text, str) else []
    if len(parts) != 5:
        raise CronError('must be five fields: "minute hour day-of-month month day-of-week", e.g. "0 10 * * 1"')
    values = [_field(part, name, low, high) for part, (name, low, high) in zip(parts, FIELDS)]
    weekdays = frozenset(d % 7 for d in values[4])
    cron = Cron(values[0], values[1], values[2], values[3], weekdays, parts[2] == "*", parts[4] == "*")
    cron.next_after(datetime(2000, 1, 1, tzinfo=MALL_TZ))       # names some time at all (not Feb 30)
    return cron


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    found: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = _number(step_text, name) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (_number(x, name) for x in base.split("-", 1))
        else:
            start = end = _number(base, name)
        if not (low <= start <= end <= high) or step < 1:
            raise CronError(f"{name}: {item!r} is outside {low}-{high}")
        found.update(range(start, end + 1, step))
    return frozenset(found)


def _number(text: str, name: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise CronError(f"{name}: {text!r} is not a number")
    return int(text)
