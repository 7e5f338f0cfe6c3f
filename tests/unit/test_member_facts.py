"""The member facts and the lifecycle stage as pure rules: the stage boundaries, the 12-month window, the
preferred category, about to lapse, and `next_change` — nothing changes before that day with no new event."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from loyalty_core.member_facts import FactsSource, Purchase, facts_of
from loyalty_core.program import load_program

PROGRAM = load_program()
TODAY = date(2026, 6, 15)


def facts(*purchases: Purchase, today: date = TODAY, **source):
    base = FactsSource(member_id="1", joined_on=date(2025, 1, 1), tier="member", balance=0, purchases=purchases)
    return facts_of(replace(base, **source), today, PROGRAM.segments, PROGRAM.lifecycle)


def bought(days_ago: int, fen: int = 10_000, category: str = "dining") -> Purchase:
    return Purchase(TODAY - timedelta(days=days_ago), fen, category)


def test_the_five_stages_at_their_boundaries():
    assert facts().stage == "potential"
    assert facts(bought(29)).stage == "new"
    assert facts(bought(30)).stage == "active"           # the first purchase 30 days ago: no longer new
    assert facts(bought(200), bought(90)).stage == "active"
    assert facts(bought(200), bought(91)).stage == "dormant"
    assert facts(bought(300), bought(180)).stage == "dormant"
    assert facts(bought(300), bought(181)).stage == "churned"


def test_the_purchases_retention_forgot_still_date_the_first_and_the_last():
    long_ago = (TODAY - timedelta(days=500), TODAY - timedelta(days=420))
    only_forgotten = facts(earlier=long_ago)
    assert (only_forgotten.stage, only_forgotten.first_purchase, only_forgotten.last_purchase) == \
        ("churned", long_ago[0], long_ago[1])
    back_again = facts(bought(40, fen=5_000), earlier=long_ago)
    assert (back_again.stage, back_again.first_purchase, back_again.spend_12m_fen) == ("active", long_ago[0], 5_000)


def test_a_fully_refunded_purchase_is_no_purchase():
    assert facts(bought(10, fen=0)).stage == "potential"


def test_the_12_month_window_spend_level_and_preferred_category():
    found = facts(bought(400, 9_000_000, "jewellery"), bought(100, 250_000, "fashion"), bought(50, 100_000, "dining"),
                  bought(20, 100_000, "dining"))
    assert (found.spend_12m_fen, found.purchases_12m, found.preferred_category) == (450_000, 3, "fashion")
    assert found.spend_level == "mid" and found.average_basket_fen == 150_000
    assert facts(bought(1, 2_000_000)).spend_level == "high" and facts(bought(1, 299_999)).spend_level == "low"
    tie = facts(bought(3, 100, "kids"), bought(2, 100, "beauty"))
    assert tie.preferred_category == "beauty"


def test_high_value_is_spend_and_frequency_together():
    often = [bought(d, 400_000) for d in range(1, 60, 10)]     # six purchases, CNY 24,000
    assert facts(*often).high_value
    assert not facts(*often[:5]).high_value                    # five purchases
    assert not facts(*(replace(p, spend_fen=100_000) for p in often)).high_value


def test_about_to_lapse_when_the_usual_interval_is_exceeded_by_the_factor():
    weekly = [bought(d) for d in (52, 45, 38, 31)]             # every 7 days; the last 31 days ago
    assert facts(*weekly).stage == "active" and facts(*weekly).lapsing    # 31 > 7 × 2
    assert not facts(*weekly, today=TODAY - timedelta(days=17)).lapsing   # the last 14 days ago: not yet
    assert not facts(bought(52), bought(31)).lapsing                      # two purchases: too few to tell


PURCHASES = st.lists(st.builds(Purchase, st.dates(date(2024, 6, 1), TODAY), st.integers(0, 1_000_000),
                               st.sampled_from(["", "dining", "fashion"])), max_size=8)


@given(purchases=PURCHASES)
def test_nothing_changes_before_the_next_change_day(purchases):
    today_facts = facts(*purchases)
    end = today_facts.next_change or TODAY + timedelta(days=400)
    for day in (TODAY + timedelta(days=n) for n in range(1, (end - TODAY).days)):
        later = facts(*purchases, today=day)
        assert replace(later, next_change=None) == replace(today_facts, next_change=None), day
    if today_facts.next_change is not None:
        assert today_facts.next_change > TODAY
