"""The member day's days, the lottery's prize rule, the statement's words and the member-day uplifts' averages."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from loyalty_core.member_day import LotteryPrize, is_member_day, member_day_rule, next_member_day, prize_for, rule_zh
from loyalty_core.metrics import day_averages, spend_per_day, uplift
from loyalty_core.program_fields import Invalid
from loyalty_core.statement import StatementFacts, money, period_of, statement_text


@pytest.mark.parametrize("rule, after, expected", [
    (18, date(2026, 1, 17), date(2026, 1, 18)),
    (18, date(2026, 1, 18), date(2026, 2, 18)),          # strictly after
    (31, date(2026, 2, 1), date(2026, 2, 28)),           # a month without the 31st holds it on its last day
    (31, date(2028, 2, 1), date(2028, 2, 29)),
    (30, date(2026, 3, 1), date(2026, 3, 30)),
    ("wed", date(2026, 12, 2), date(2026, 12, 9)),       # 2 December 2026 is a Wednesday
    (0, date(2026, 1, 1), None),
])
def test_the_next_member_day(rule, after, expected):
    assert next_member_day(after, rule) == expected


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
       st.one_of(st.integers(1, 31), st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])))
def test_one_member_day_a_month_or_a_week_and_the_next_is_the_first_after(day, rule):
    upcoming = next_member_day(day, rule)
    assert upcoming > day and is_member_day(upcoming, rule)
    assert not any(is_member_day(day + timedelta(days=n), rule) for n in range(1, (upcoming - day).days))
    if isinstance(rule, int):
        month = [day.replace(day=1) + timedelta(days=n) for n in range(31)]
        assert sum(is_member_day(d, rule) for d in month if d.month == day.month) == 1


def test_the_rule_as_written_in_the_file():
    assert (member_day_rule(18), member_day_rule("Wednesday"), member_day_rule(0)) == (18, "wed", 0)
    for wrong in (32, -1, True, "someday", 1.5):
        with pytest.raises(Invalid):
            member_day_rule(wrong)
    assert (rule_zh(18), rule_zh("wed"), rule_zh(0)) == ("每月18日", "每周三", "")


PRIZES = (LotteryPrize("券", 10, "member-day-100-20", stock=2), LotteryPrize("奶茶", 20, "tea-bogo"),
          LotteryPrize("谢谢参与", 70))


@pytest.mark.parametrize("ticket, used, won", [
    (0, (0, 0, 0), 0), (9, (1, 0, 0), 0), (9, (2, 0, 0), -1),     # given out: its share is 谢谢参与
    (10, (2, 0, 0), 1), (29, (0, 0, 0), 1), (30, (0, 0, 0), -1), (99, (0, 0, 0), -1),
])
def test_a_ticket_wins_by_weight_and_stock(ticket, used, won):
    assert prize_for(PRIZES, ticket, used) == won


def test_the_statement_in_the_words_of_the_tier_reply():
    start, end = period_of(date(2026, 12, 1))
    assert (start, end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert period_of(date(2026, 12, 25)) == (date(2026, 12, 1), date(2026, 12, 24))
    text = statement_text(StatementFacts(start, end, 320, 1280, 200, date(2026, 12, 20), 30, Decimal("12300.5"),
                                         "金卡", "白金卡", Decimal("12300")))
    assert text.splitlines() == ["11月会员账单（11月1日—11月30日）：", "· 获得积分：320 分", "· 可用积分：1280 分",
                                 "· 即将过期：200 分将在 30 天内过期，最早 12月20日到期", "· 消费金额：12,300.50 元",
                                 "· 金卡：还差 12,300 元升级白金卡"]
    top = statement_text(StatementFacts(start, end, 0, 0, 0, None, 30, Decimal(0), "钻石卡", "", Decimal(0)))
    assert top.splitlines()[-1] == "· 钻石卡：您已是最高等级，感谢一路相伴！" and "即将过期" not in top
    assert money(Decimal("0")) == "0"


def test_member_day_and_other_day_spend_are_averaged_over_the_days_kept():
    totals = {("2026-01-16", "spend"): 100, ("2026-01-18", "spend"): 900, ("2026-01-19", "spend"): 200}
    assert spend_per_day(totals, date(2026, 1, 20), 18) == (900, 100)        # (100 + 0 + 200) / 3 other days
    assert spend_per_day({}, date(2026, 1, 20), 18) == (0, 0)
    assert spend_per_day(totals, date(2026, 1, 20), 0) == (0, 300)           # no member day: all days are other days


def test_sign_ups_are_averaged_exactly_and_their_uplift_is_nothing_without_both_kinds_of_day():
    totals = {("2026-01-16", "sign_ups"): 1, ("2026-01-17", "spend"): 500, ("2026-01-18", "sign_ups"): 2}
    member_day, other_day = day_averages(totals, date(2026, 1, 20), 18, "sign_ups")
    assert (member_day, other_day) == (2, Fraction(1, 3))                     # (1 + 0 + 0) / 3 other days
    assert uplift(member_day, other_day) == 5.0
    assert uplift(member_day, 0) == uplift(0, other_day) == 0.0
