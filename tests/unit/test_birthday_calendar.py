"""Birthdays on the solar and lunar calendars. Every expected date is checked against sxtwl (寿星天文历),
an independent, astronomical implementation of the Chinese calendar (the code under test uses
lunar-python)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, strategies as st
import sxtwl

from loyalty_core import errors
from loyalty_core.birthday_calendar import (
    EARLIEST_YEAR, LAST_LUNAR_YEAR, LUNAR, SOLAR, Birthday, WindowRule, birth_date, birthday_words, current_or_next,
    ganzhi_year, index_label, kept_on, labels_on, leap_month_of, lunar_month_day_words, lunar_month_days,
    lunar_to_solar, parse_birthday,
)

TODAY = date(2026, 6, 3)


# -- the oracle -------------------------------------------------------------------------------------------
# Published calendars disagree about one new moon (2057-09-28: the Hong Kong Observatory's tables carry a
# footnote on it); the lunar month around it is left out of the comparisons.
UNSETTLED = (date(2057, 9, 28), date(2057, 10, 27))


def settled(day: date) -> bool:
    return not UNSETTLED[0] <= day <= UNSETTLED[1]

def oracle_kept_on(birthday: Birthday, cycle: int) -> date:
    """The rules of the module, on lunar-python's calendar: a leap-month birthday in the leap month when
    the year has it, else the regular month; day 30 of a 29-day month on day 29; Feb 29 on Feb 28."""
    if birthday.calendar == SOLAR:
        try:
            return date(cycle, birthday.month, birthday.day)
        except ValueError:
            return date(cycle, 2, 28)
    leap = birthday.leap and sxtwl.getRunMonth(cycle) == birthday.month
    day = min(birthday.day, sxtwl.getLunarMonthNum(cycle, birthday.month, leap))
    return _as_date(sxtwl.fromLunar(cycle, birthday.month, day, leap))


def oracle_born(birthday: Birthday) -> date:
    return _as_date(sxtwl.fromLunar(birthday.year, birthday.month, birthday.day, birthday.leap))


def oracle_leap_month(year: int) -> int:
    return sxtwl.getRunMonth(year)


def _as_date(day) -> date:
    return date(day.getSolarYear(), day.getSolarMonth(), day.getSolarDay())


# (birthday, cycle, the solar date it is kept on): leap months, day 30, Feb 29, the Spring Festival
CASES = [
    (Birthday(LUNAR, 2020, 4, 26, leap=True), 2020, date(2020, 6, 17)),    # in the leap month itself
    (Birthday(LUNAR, 2020, 4, 26, leap=True), 2021, date(2021, 6, 6)),     # 2021: no 闰四月 -> 四月廿六
    (Birthday(LUNAR, 2020, 4, 26, leap=True), 2023, date(2023, 6, 13)),    # 2023 has 闰二月 only
    (Birthday(LUNAR, 2001, 4, 26, leap=True), 2020, date(2020, 6, 17)),    # born in 2001's 闰四月
    (Birthday(LUNAR, 1990, 4, 26), 2020, date(2020, 5, 18)),               # regular month in a leap-4 year
    (Birthday(LUNAR, 1990, 4, 26), 1990, date(1990, 5, 20)),
    (Birthday(LUNAR, 2017, 6, 30, leap=True), 2017, date(2017, 8, 21)),    # 闰六月三十 (30-day leap month)
    (Birthday(LUNAR, 2017, 6, 30, leap=True), 2025, date(2025, 8, 22)),    # 2025's 闰六月 has 29 days
    (Birthday(LUNAR, 2017, 6, 30, leap=True), 2026, date(2026, 8, 12)),    # no leap month: 六月三十
    (Birthday(LUNAR, 1990, 12, 30), 2023, date(2024, 2, 9)),               # 除夕 on 腊月三十
    (Birthday(LUNAR, 1990, 12, 30), 2024, date(2025, 1, 28)),              # 29-day 腊月: on 廿九, 除夕
    (Birthday(LUNAR, 1990, 12, 30), 2025, date(2026, 2, 16)),              # the day before 2026's Spring Festival
    (Birthday(LUNAR, 1988, 1, 1), 2026, date(2026, 2, 17)),                # 正月初一 = Spring Festival
    (Birthday(LUNAR, 1988, 1, 1), 2025, date(2025, 1, 29)),
    (Birthday(LUNAR, 1995, 10, 30), 2025, date(2025, 12, 19)),             # a lunar birthday in December
    (Birthday(LUNAR, 1990, 11, 30), 2025, date(2026, 1, 18)),              # cycle 2025, kept in 2026
    (Birthday(SOLAR, 2000, 2, 29), 2023, date(2023, 2, 28)),               # Feb 29 in a common year
    (Birthday(SOLAR, 2000, 2, 29), 2024, date(2024, 2, 29)),
    (Birthday(SOLAR, 1990, 5, 20), 2026, date(2026, 5, 20)),
]


@pytest.mark.parametrize("birthday, cycle, expected", CASES)
def test_the_day_a_birthday_is_kept_on_agrees_with_the_oracle(birthday, cycle, expected):
    assert oracle_kept_on(birthday, cycle) == expected          # the table itself, checked by lunar-python
    assert kept_on(birthday, cycle) == expected


@pytest.mark.parametrize("birthday", sorted({case[0] for case in CASES if case[0].calendar == LUNAR},
                                            key=lambda b: (b.year, b.month, b.day, b.leap)))
def test_the_birth_date_of_a_lunar_birthday_agrees_with_the_oracle(birthday):
    assert birth_date(birthday) == oracle_born(birthday)


@given(st.builds(Birthday, st.just(LUNAR), st.integers(1950, 2020), st.integers(1, 12), st.integers(1, 30),
                 st.booleans()), st.integers(1960, 2090))
def test_every_lunar_birthday_in_every_year_agrees_with_the_oracle(birthday, cycle):
    if birth_date(birthday) is None or (birthday.leap and oracle_leap_month(birthday.year) != birthday.month):
        return                                                      # not a date that existed
    expected = oracle_kept_on(birthday, cycle)
    assume(settled(expected))
    assert kept_on(birthday, cycle) == expected


def test_every_month_of_every_lunar_year_agrees_with_the_oracle():
    """Birth years before 1950 included: each month's first day and length, and the year's leap month."""
    for year in range(EARLIEST_YEAR, LAST_LUNAR_YEAR + 1):
        assert (leap_month_of(year) or 0) == oracle_leap_month(year), year
        months = [(month, False) for month in range(1, 13)] + [(oracle_leap_month(year), True)] * (
            oracle_leap_month(year) > 0)
        for month, leap in months:
            first = _as_date(sxtwl.fromLunar(year, month, 1, leap))
            if settled(first) and settled(first + timedelta(days=29)):
                assert (lunar_to_solar(year, month, 1, leap), lunar_month_days(year, month, leap)) == \
                    (first, sxtwl.getLunarMonthNum(year, month, leap)), (year, month, leap)


# -- the index: each birthday is found on exactly the day it is kept on ------------------------------------
BIRTHDAYS = list(dict.fromkeys(case[0] for case in CASES)) + [
    Birthday(LUNAR, 1979, 6, 30, leap=True), Birthday(LUNAR, 1990, 6, 30), Birthday(SOLAR, 1996, 2, 28),
    Birthday(SOLAR, 1990, 12, 31)]


@pytest.mark.parametrize("year", [2020, 2023, 2024, 2025, 2028])
def test_labels_on_each_day_name_exactly_the_birthdays_kept_that_day(year):
    day, last = date(year, 1, 1), date(year, 12, 31)
    found: dict[Birthday, list[date]] = {b: [] for b in BIRTHDAYS}
    while day <= last:
        labels = set(labels_on(day))
        for birthday in BIRTHDAYS:
            if index_label(birthday) in labels:
                found[birthday].append(day)
        day += timedelta(days=1)
    for birthday, days in found.items():
        expected = [d for cycle in (year - 1, year) if (d := oracle_kept_on(birthday, cycle)).year == year] \
            if birthday.calendar == LUNAR else [oracle_kept_on(birthday, year)]
        assert days == expected, birthday


@given(st.dates(date(1950, 2, 1), date(2098, 12, 31)))
def test_a_day_maps_to_its_own_lunar_month_day_label(day):
    assume(settled(day))
    lunar = sxtwl.fromSolar(day.year, day.month, day.day)
    leap = "L" if lunar.isLunarLeap() else ""
    assert f"lunar:{leap}{lunar.getLunarMonth():02d}-{lunar.getLunarDay():02d}" in labels_on(day)


@pytest.mark.parametrize("day, month_day", [
    (date(1933, 7, 22), "L05-30"), (date(1954, 11, 25), "11-01"), (date(1978, 9, 2), "07-30")])
def test_months_where_older_tables_are_a_day_off_follow_the_astronomical_calendar(day, month_day):
    assert f"lunar:{month_day}" in labels_on(day)


# -- windows ------------------------------------------------------------------------------------------------
def test_the_window_is_the_calendar_month_of_this_years_birthday():
    birthday = Birthday(LUNAR, 1990, 12, 30)                 # kept on 2026-02-16 in cycle 2025
    now = current_or_next(birthday, date(2026, 2, 3), WindowRule())
    assert (now.cycle, now.day, now.window_start, now.window_end) == \
        (2025, date(2026, 2, 16), date(2026, 2, 1), date(2026, 2, 28))
    later = current_or_next(birthday, date(2026, 3, 1), WindowRule())
    assert (later.cycle, later.day, later.contains(date(2026, 3, 1))) == (2026, date(2027, 2, 5), False)


def test_a_window_of_days_around_the_birthday():
    birthday = Birthday(SOLAR, 1990, 1, 2)
    found = current_or_next(birthday, date(2025, 12, 30), WindowRule("days", days_before=7, days_after=3))
    assert (found.window_start, found.window_end, found.contains(date(2025, 12, 30))) == \
        (date(2025, 12, 26), date(2026, 1, 5), True)


# -- parsing and words ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, kind, expected", [
    ("1990-05-20", SOLAR, Birthday(SOLAR, 1990, 5, 20)),
    ("1990/5/20", SOLAR, Birthday(SOLAR, 1990, 5, 20)),
    ("1990年5月20日", SOLAR, Birthday(SOLAR, 1990, 5, 20)),
    ("1990-04-26", LUNAR, Birthday(LUNAR, 1990, 4, 26)),
    ("2020-闰04-26", LUNAR, Birthday(LUNAR, 2020, 4, 26, leap=True)),
    ("2020年闰4月26", LUNAR, Birthday(LUNAR, 2020, 4, 26, leap=True)),
])
def test_parse_accepts_the_usual_spellings(text, kind, expected):
    assert parse_birthday(text, kind, TODAY) == expected


@pytest.mark.parametrize("text, kind, reason", [
    ("1990-02-30", SOLAR, "no_such_date"),
    ("2001-02-29", SOLAR, "no_such_date"),
    ("1990-13-01", SOLAR, "no_such_date"),
    ("1990-闰04-26", LUNAR, "no_leap_month"),      # 1990's leap month was the fifth
    ("2021-04-30", LUNAR, "no_such_date"),         # 2021's 四月 has 29 days
    ("2026-07-01", SOLAR, "future"),
    ("2027-01-01", LUNAR, "future"),
    ("1899-12-31", SOLAR, "too_early"),
    ("05-20", SOLAR, "format"),
    ("明天", LUNAR, "format"),
])
def test_parse_refuses_dates_that_cannot_be_a_birthday(text, kind, reason):
    with pytest.raises(errors.InvalidBirthday) as refused:
        parse_birthday(text, kind, TODAY)
    assert refused.value.params["reason"] == reason


def test_a_missing_leap_month_names_the_years_real_one():
    with pytest.raises(errors.InvalidBirthday) as refused:
        parse_birthday("1990-闰04-26", LUNAR, TODAY)
    assert refused.value.params["leap_month"] == "闰五月"


def test_words_of_lunar_dates():
    assert lunar_month_day_words(4, 26) == "四月廿六"
    assert lunar_month_day_words(4, 26, leap=True) == "闰四月廿六"
    assert [lunar_month_day_words(m, d) for m, d in ((1, 1), (1, 10), (11, 20), (12, 30))] == \
        ["正月初一", "正月初十", "冬月二十", "腊月三十"]
    assert ganzhi_year(1990) == "庚午" and ganzhi_year(2026) == "丙午"
    assert birthday_words(Birthday(LUNAR, 2020, 4, 26, leap=True)) == \
        "农历 2020年（庚子年）闰四月廿六（公历 2020年6月17日）"
    assert birthday_words(Birthday(SOLAR, 1990, 5, 20)) == "公历 1990年5月20日"
