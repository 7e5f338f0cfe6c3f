"""Pure tier rules: the tier for a spend, the rolling window, the progress to the next tier."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_core.points import window_start
from loyalty_core.program import load_program
from loyalty_core.tiers import next_tier, status_of, tier_for, window_spend

PROGRAM = load_program()


@pytest.mark.parametrize("spend, code", [
    ("0", "member"), ("49999.99", "member"), ("50000", "gold"), ("99999", "gold"), ("100000", "platinum"),
    ("250000", "diamond"),
])
def test_the_tier_is_the_highest_threshold_reached(spend, code):
    assert tier_for(Decimal(spend), PROGRAM).code == code


def test_the_window_slides_by_day():
    today = date(2027, 1, 15)
    assert window_start(today, 12) == date(2026, 1, 16)
    days = {date(2026, 1, 15): 100_00, date(2026, 1, 16): 200_00, date(2027, 1, 15): 300_00}
    assert window_spend(days, today, 12) == Decimal("500.00")


@given(today=st.dates(date(2000, 1, 1), date(2099, 12, 31)), months=st.sampled_from([1, 6, 12, 24]))
def test_the_window_slides_forward_across_month_ends_years_and_leap_days(today, months):
    assert window_start(today + timedelta(days=1), months) >= window_start(today, months)


@given(today=st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_a_twelve_month_window_is_365_days_or_366_with_a_leap_day_inside(today):
    start = window_start(today, 12)
    days = [start + timedelta(days=n) for n in range((today - start).days + 1)]
    assert len(days) == 365 + any((d.month, d.day) == (2, 29) for d in days)


def test_progress_names_the_amount_still_needed():
    gold = PROGRAM.tier("gold")
    status = status_of(gold, Decimal("87700"), PROGRAM, since=None, review_on=None)
    assert (status.next_tier.code, status.to_next) == ("platinum", Decimal("12300"))
    top = status_of(PROGRAM.tier("diamond"), Decimal("300000"), PROGRAM, since=None, review_on=None)
    assert (top.next_tier, top.to_next) == (None, 0)
    assert next_tier(PROGRAM.tier("member"), PROGRAM).code == "gold"


def test_an_unknown_tier_code_counts_as_the_base_tier():
    assert PROGRAM.tier("silver").code == "member"
