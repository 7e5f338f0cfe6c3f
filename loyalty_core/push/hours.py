"""The push side's calendar, in the mall's timezone (Asia/Shanghai) on the injected clock.

- Quiet hours are the program file's daily window [start, end) (loyalty_core.program.QuietHours), which
  may cross midnight (21:30–09:00); None means none.
- "Today" is the calendar day, "this week" the calendar week starting on Monday, "this month" the
  calendar month: frequency caps and the monthly mass quota count by them, so they reset at 00:00.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from ..clock import MALL_TZ
from ..program import QuietHours


def local(moment: datetime) -> datetime:
    return moment.astimezone(MALL_TZ)


def in_quiet_hours(moment: datetime, quiet: QuietHours | None) -> bool:
    return quiet is not None and quiet.contains(moment)


def quiet_hours_end(moment: datetime, quiet: QuietHours | None) -> datetime:
    """The end of the quiet hours `moment` falls in (moment itself when it is not in them)."""
    if not in_quiet_hours(moment, quiet):
        return moment
    at = local(moment)
    crosses_midnight = quiet.start > quiet.end
    day = at.date() + timedelta(days=1) if crosses_midnight and at.time() >= quiet.start else at.date()
    return _at(day, quiet.end)


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

