"""Recurring campaigns' timetables: cron's five fields, in the mall's time."""
from __future__ import annotations

from datetime import datetime

import pytest

from loyalty_core.clock import MALL_TZ
from loyalty_core.cron import CronError, parse_cron

AT = datetime(2026, 3, 3, 10, 30, tzinfo=MALL_TZ)      # a Tuesday


@pytest.mark.parametrize("expression, after, expected", [
    ("0 10 * * 1", AT, datetime(2026, 3, 9, 10, 0)),               # Mondays at 10:00
    ("30 10 * * *", AT, datetime(2026, 3, 4, 10, 30)),             # the same minute is not "after"
    ("*/15 * * * *", AT, datetime(2026, 3, 3, 10, 45)),
    ("0 9 17 * *", AT, datetime(2026, 3, 17, 9, 0)),               # the day before the member day
    ("0 9 1 1,7 *", AT, datetime(2026, 7, 1, 9, 0)),
    ("0 20 13 * 5", AT, datetime(2026, 3, 6, 20, 0)),              # both day fields: either matches (a Friday)
    ("0 8 29 2 *", AT, datetime(2028, 2, 29, 8, 0)),               # the next leap day
    ("0 8 * * 0", AT, datetime(2026, 3, 8, 8, 0)),
    ("0 8 * * 7", AT, datetime(2026, 3, 8, 8, 0)),                 # 7 is Sunday too
])
def test_the_next_time_after_a_moment(expression, after, expected):
    assert parse_cron(expression).next_after(after) == expected.replace(tzinfo=MALL_TZ)


@pytest.mark.parametrize("expression, problem", [
    ("0 10 * *", "five fields"), ("60 10 * * *", "minute"), ("0 24 * * *", "hour"), ("0 10 0 * *", "day of month"),
    ("0 10 * 13 *", "month"), ("0 10 * * 8", "day of week"), ("x 10 * * *", "not a number"),
    ("0 10 30 2 *", "names no time"), ("0 10 */0 * *", "outside"),
])
def test_a_bad_expression_says_what_is_wrong(expression, problem):
    with pytest.raises(CronError, match=problem):
        parse_cron(expression)
