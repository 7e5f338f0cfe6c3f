"""The care calendar: holidays on solar and lunar days, membership anniversaries, and the program's checks."""
from datetime import date

import pytest

from loyalty_core.care import CareRules, Holiday, anniversary_labels, join_label
from loyalty_core.program import ProgramError, load_program, program_from_dict

CALENDAR = load_program().care
TIERS = [{"code": "member", "name": "普卡", "threshold": 0, "multiplier": 1}]


@pytest.mark.parametrize("day, names", [
    (date(2026, 2, 17), ["春节"]), (date(2026, 3, 3), ["元宵节"]), (date(2026, 6, 19), ["端午节"]),
    (date(2026, 9, 25), ["中秋节"]), (date(2026, 10, 18), ["重阳节"]), (date(2027, 2, 6), ["春节"]),
    (date(2026, 9, 24), []),
])
def test_the_packaged_calendar_greets_the_lunar_holidays_on_their_solar_days(day, names):
    assert [h.name for h in CALENDAR.holidays_on(day)] == names


def test_new_years_eve_is_the_last_day_of_the_lunar_year_whether_the_month_has_29_or_30_days():
    eve = CareRules(holidays=(Holiday("除夕", lunar="12-30"),))
    assert [h.name for h in eve.holidays_on(date(2026, 2, 16))] == ["除夕"]     # 腊月 has 29 days in 2025
    assert [h.name for h in eve.holidays_on(date(2027, 2, 5))] == ["除夕"]      # … and 30 in 2026
    assert eve.holidays_on(date(2027, 2, 4)) == []


def test_a_solar_holiday_and_anniversaries_of_a_leap_day_join():
    solar = CareRules(holidays=(Holiday("国庆节", solar="10-01"),))
    assert [h.name for h in solar.holidays_on(date(2026, 10, 1))] == ["国庆节"]
    assert join_label(date(2024, 2, 29)) in anniversary_labels(date(2027, 2, 28))   # kept on Feb 28 in common years
    assert join_label(date(2024, 2, 29)) not in anniversary_labels(date(2028, 2, 28))
    assert anniversary_labels(date(2026, 6, 3)) == ("solar:06-03",)


@pytest.mark.parametrize("holiday, problem", [
    ({"name": "x"}, 'care.holidays[0].solar: give the day as solar = "MM-DD" or lunar = "MM-DD", one of them'),
    ({"name": "x", "solar": "02-30"}, "care.holidays[0].solar: must be MM-DD"),
    ({"name": "x", "lunar": "13-01"}, "care.holidays[0].lunar: must be MM-DD (LMM-DD for a leap month)"),
    ({"name": "x", "solar": "01-01", "lunar": "01-01"},
     'care.holidays[0].solar: give the day as solar = "MM-DD" or lunar = "MM-DD", one of them'),
])
def test_a_holiday_needs_one_real_day(holiday, problem):
    with pytest.raises(ProgramError) as refused:
        program_from_dict({"tiers": TIERS, "care": {"holidays": [holiday]}})
    assert str(refused.value) == problem


def test_a_holiday_is_named_once():
    with pytest.raises(ProgramError, match=r"care.holidays\[1\].name: duplicate holiday '春节'"):
        program_from_dict({"tiers": TIERS, "care": {"holidays": [{"name": "春节", "lunar": "01-01"},
                                                                 {"name": "春节", "lunar": "01-02"}]}})


def test_the_timetable_names_each_job_and_checks_its_times():
    schedule = load_program().schedule
    assert schedule.at("points-expiry").isoformat() == "00:10:00"
    with pytest.raises(ProgramError, match="schedule.points-expiry: must be a time of day"):
        program_from_dict({"tiers": TIERS, "schedule": {"points-expiry": "25:00"}})
