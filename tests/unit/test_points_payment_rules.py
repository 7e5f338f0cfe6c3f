"""The rules of points paying at a till (loyalty_core/points_payment.py): the value of points, the share of a
basket they may pay, the whole-fen step, for the default rate and for rates that do not divide CNY 1 evenly."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_core import errors
from loyalty_core.points_payment import cash_value, check_points, payable, points_step, share_cap
from loyalty_core.program import PaymentRules

RATES = st.sampled_from([PaymentRules(), PaymentRules(points_per_yuan=150, min_points=3),
                         PaymentRules(points_per_yuan=1000, min_points=10, max_share_percent=30),
                         PaymentRules(points_per_yuan=7, min_points=7, max_share_percent=100)])


def test_the_default_rate_makes_100_points_one_yuan_and_any_number_of_points_whole_fen():
    rules = PaymentRules()
    assert (points_step(rules), cash_value(1200, rules), cash_value(1, rules)) == (1, Decimal("12.00"), Decimal("0.01"))
    assert share_cap(Decimal("30.00"), rules) == 1500
    assert share_cap(Decimal("0.03"), rules) == 1          # half of 3 fen, rounded down to whole fen


@given(rules=RATES, points=st.integers(1, 10**9))
def test_a_multiple_of_the_step_is_worth_exactly_whole_fen(rules, points):
    points = points * points_step(rules)
    assert cash_value(points, rules) * rules.points_per_yuan == points


@given(rules=RATES, balance=st.integers(0, 10**8), fen=st.integers(1, 10**9))
def test_the_payable_points_are_the_most_the_balance_and_the_share_allow(rules, balance, fen):
    amount = Decimal(fen) / 100
    points, step = payable(balance, amount, rules), points_step(rules)
    if points == 0:
        biggest = min(balance // step * step, share_cap(amount, rules))
        assert biggest < rules.min_points
        return
    assert points % step == 0 and rules.min_points <= points <= balance
    assert cash_value(points, rules) * 100 * 100 <= fen * rules.max_share_percent        # never over the share
    over = points + step
    assert over > balance or cash_value(over, rules) * 100 * 100 > fen * rules.max_share_percent
    assert check_points(points, amount, rules) == points


@given(rules=RATES, fen=st.integers(1, 10**9), extra=st.integers(1, 10**6))
def test_points_over_the_share_are_refused(rules, fen, extra):
    amount = Decimal(fen) / 100
    points = (share_cap(amount, rules) // points_step(rules) + extra) * points_step(rules)
    with pytest.raises((errors.PointsShareExceeded, errors.InvalidPoints)):
        check_points(max(points, rules.min_points), amount, rules) if points >= rules.min_points else \
            check_points(points, amount, rules)


@pytest.mark.parametrize("points", [0, -100, True, 1.5, "100", 10**13])
def test_what_is_not_a_whole_positive_number_of_points_is_refused(points):
    with pytest.raises(errors.InvalidPoints):
        check_points(points, None, PaymentRules())


def test_points_off_the_step_or_under_the_minimum_are_refused():
    with pytest.raises(errors.InvalidPoints, match="multiple of 3"):
        check_points(301, None, PaymentRules(points_per_yuan=150, min_points=3))
    with pytest.raises(errors.InvalidPoints, match="at least 100"):
        check_points(99, None, PaymentRules())
