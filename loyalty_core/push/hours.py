"""The push side's calendar, in the mall's timezone (Asia/Shanghai) on the injected clock.

- Quiet hours are a daily window [start, end) that may cross midnight (21:30–09:00); start == end or
  none at all means no quiet hours.
- "Today" is the calendar day, "this week" the calendar week starting on Monday, "this month" the
  calendar month: frequency caps and the monthly mass quota count by them, so they reset at 00:00.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from ..clock import MALL_TZ

QuietHours = tuple[time, time] | tuple[()]


def local(moment: datetime) -> datetime:
    return moment.astimezone(MALL_TZ)


def in_quiet_hours(moment: datetime, quiet: QuietHours) -> bool:
    if not quiet or quiet[0] == quiet[1]:
        return False
    start, end = quiet
    at = local(moment).time()
    if start < end:
        return start <= at < end
    return at >= start or at < end


def quiet_hours_end(moment: datetime, quiet: QuietHours) -> datetime:
    """The end of the quiet hours `moment` falls in (moment itself when it is not in them)."""
    if not in_quiet_hours(moment, quiet):
        return moment
    start, end = quiet
    at = local(moment)
    day = at.date() + timedelta(days=1) if start > end and at.time() >= start else at.date()
    return _at(day, end)


def day_key(moment: datetime) -> str:
    return local(moment).strftime("%Y%m%d")


def week_start(moment: datetime) -> date:
    today = local(moment).date()
    return today - timedelta(days=today.weekday())


def month_key(moment: datetime) -> str:
    return local(moment).strftime("%Y%m")


def next_day(moment: datetime) -> datetime:
    """00:00 of the day after `moment`."""
    return _at(local(moment).date() + timedelta(days=1), time(0, 0))


def next_week(moment: datetime) -> datetime:
    """00:00 of the Monday after `moment`'s week."""
    return _at(week_start(moment) + timedelta(days=7), time(0, 0))


def _at(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=MALL_TZ)


def parse_quiet_hours(raw) -> QuietHours:
    """["21:30", "09:00"] -> (21:30, 09:00); [] -> no quiet hours. Raises ValueError naming the problem."""
    if not raw:
        return ()
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise ValueError('quiet_hours: give ["HH:MM", "HH:MM"] (start, end) or [] for none')
    return _hh_mm(raw[0]), _hh_mm(raw[1])


def _hh_mm(raw) -> time:
    if isinstance(raw, time):
        return raw
    try:
        hours, minutes = str(raw).split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"quiet_hours: {raw!r} is not a time of day as HH:MM") from None
