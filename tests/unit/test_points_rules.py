"""Pure points rules: promotions and how they compose, rounding, refund shares, dates, masking, amounts."""
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_core import errors
from loyalty_core.points import (
    NO_PROMOTION, Promotion, add_months, check_amount, clawback_target, mask_name, promotion_for, purchase_points,
)
from loyalty_core.program import load_program

PROGRAM = load_program()
PROMOTIONS = replace(PROGRAM.promotions, double_points_dates=frozenset({date(2026, 11, 11), date(2026, 3, 18)}),
                     double_points_weekdays=frozenset({6}), member_day_multiplier=Decimal("1.5"),
                     double_points_multiplier=Decimal(2), birthday_multiplier=Decimal(3))
MEMBER, GOLD, PLATINUM = PROGRAM.tiers[0], PROGRAM.tiers[1], PROGRAM.tiers[2]
ORDINARY_DAY = date(2026, 1, 14)     # a Wednesday, no promotion


@pytest.mark.parametrize("day, birthday, multiplier, reason", [
    (ORDINARY_DAY, False, Decimal(1), ""),
    (date(2026, 1, 18), False, Decimal("1.5"), "member_day"),
    (date(2026, 11, 11), False, Decimal(2), "double_points_date"),
    (date(2026, 1, 17), False, Decimal(2), "double_points_weekday"),          # a Saturday
    (ORDINARY_DAY, True, Decimal(3), "birthday"),
    (date(2026, 3, 18), False, Decimal(2), "double_points_date"),            # the 18th and a double date: 2, not 3
    (date(2026, 4, 18), True, Decimal(3), "birthday"),                       # Saturday the 18th, birthday: 3
])
def test_the_highest_applicable_promotion_counts_alone(day, birthday, multiplier, reason):
    assert promotion_for(day, PROMOTIONS, in_birthday_window=birthday) == Promotion(multiplier, reason)


def test_no_member_day_when_it_is_switched_off():
    assert promotion_for(date(2026, 1, 18), replace(PROMOTIONS, member_day=0), in_birthday_window=False) == \
        NO_PROMOTION


@pytest.mark.parametrize("amount, tier, promotion, points", [
    ("1234.50", MEMBER, NO_PROMOTION, 1234),                                 # floor to whole points
    ("1234.50", GOLD, NO_PROMOTION, 2469),
    ("99.99", PLATINUM, NO_PROMOTION, 249),                                  # 249.975
    ("100", PLATINUM, Promotion(Decimal(2), "member_day"), 500),             # promotion × tier: 100 × 2 × 2.5
    ("0.99", MEMBER, NO_PROMOTION, 0),
])
def test_purchase_points_are_amount_times_rate_promotion_and_tier_floored(amount, tier, promotion, points):
    assert purchase_points(Decimal(amount), tier, promotion, PROGRAM.points) == points


def test_the_base_rate_scales_points():
    rules = replace(PROGRAM.points, base_rate=Decimal("0.5"))
    assert purchase_points(Decimal("101"), GOLD, NO_PROMOTION, rules) == 101


@given(points=st.integers(0, 3_000_000), amount=st.integers(1, 50_000_000), data=st.data())
def test_partial_refunds_never_drift_and_a_full_refund_takes_everything_back(points, amount, data):
    cuts = sorted(data.draw(st.lists(st.integers(1, amount), max_size=6, unique=True)))
    refunded, taken = 0, 0
    for cut in cuts + [amount]:
        refunded = cut
        step = clawback_target(points, amount, refunded) - taken
        assert step >= 0
        taken += step
    assert taken == points


@pytest.mark.parametrize("start, months, expected", [
    (date(2026, 1, 15), 12, date(2027, 1, 15)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (datetime(2026, 12, 5, 10, 30), 1, datetime(2027, 1, 5, 10, 30)),
])
def test_add_months_keeps_the_day_or_clamps_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize("nickname, member_id, shown", [
    ("王小明", "100023", "王**"), ("Alice", "100023", "A***"), ("王", "100023", "王*"), ("", "100023", "会员 10**23"),
])
def test_names_on_the_leaderboard_are_masked(nickname, member_id, shown):
    assert mask_name(nickname, member_id) == shown


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "500000.01", "NaN", "Infinity", "1E+30",
                                    "1000000000000000000000000000000", "1E+999999", "1E-999999"])
def test_amounts_a_till_may_not_send(amount):
    with pytest.raises(errors.InvalidAmount, match="amount must be more than 0 and at most 500000"):
        check_amount(Decimal(amount), Decimal(500_000))


def test_a_good_amount_is_kept_to_the_cent():
    assert str(check_amount(Decimal("12.5"), Decimal(500_000))) == "12.50"
