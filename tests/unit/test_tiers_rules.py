"""Pure tier rules: the tier for a spend, the rolling window, the progress to the next tier, the benefits
that add up from tier to tier."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_core.points import window_start
from loyalty_core.program import Program, Tier, load_program
from loyalty_core.tiers import benefits_of, next_tier, status_of, tier_for, window_spend

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


# -- benefits: each tier has those of the tiers below (在此基础上) --------------------------------------
def test_the_seed_tiers_add_up_their_benefits_and_a_superseded_one_is_not_listed_twice():
    shown = {t.code: benefits_of(t, PROGRAM) for t in PROGRAM.tiers}
    assert shown["member"].new == ("消费积分", "入会礼券") and shown["member"].kept == ()
    assert shown["gold"].new == ("积分加倍", "专属折扣", "生日礼遇") and shown["gold"].kept == ("入会礼券",)
    assert shown["platinum"].new == ("2.5 倍积分", "免费停车", "生日礼品", "VIP 通道", "会员日专享")
    assert shown["platinum"].kept == ("入会礼券", "专属折扣")
    assert shown["diamond"].new == ("3 倍积分", "私人导购", "年度体检", "品牌大使服务")
    assert shown["diamond"].kept == ("入会礼券", "专属折扣", "免费停车", "生日礼品", "VIP 通道", "会员日专享")
    assert [b for b in shown["diamond"].all if "积分" in b] == ["3 倍积分"]


def test_a_tier_that_does_not_inherit_has_only_its_own_benefits_and_the_next_tier_inherits_from_it():
    tiers = (tier("member", 0, ["消费积分", "入会礼券"]), tier("staff", 1, ["员工价"], inherit_benefits=False),
             tier("vip", 2, ["VIP 通道", "员工价"]))
    program = Program(tiers=tiers)
    assert benefits_of(tiers[1], program).all == ("员工价",)
    assert (benefits_of(tiers[2], program).new, benefits_of(tiers[2], program).kept) == (("VIP 通道",), ("员工价",))


def test_the_progress_says_what_the_next_tier_adds():
    status = status_of(PROGRAM.tier("gold"), Decimal("87700"), PROGRAM, since=None, review_on=None)
    assert status.next_benefits == ("2.5 倍积分", "免费停车", "生日礼品", "VIP 通道", "会员日专享")
    assert status.benefits == benefits_of(PROGRAM.tier("gold"), PROGRAM)
    assert status_of(PROGRAM.tier("diamond"), Decimal("300000"), PROGRAM, None, None).next_benefits == ()


def tier(code: str, threshold: int, benefits: list[str], **rules) -> Tier:
    return Tier(code=code, name=code, threshold=threshold, multiplier=1, benefits=tuple(benefits), **rules)


BENEFITS = st.sampled_from(["停车", "积分加倍", "三倍积分", "生日礼", "VIP", "导购", "体检"])


@st.composite
def ladders(draw) -> Program:
    """Tiers lowest first; each replaces some benefits of the tiers below it, or inherits nothing."""
    tiers: list[Tier] = []
    for n in range(draw(st.integers(1, 5))):
        below = sorted({b for t in tiers for b in t.benefits})
        inherits = draw(st.booleans()) if n else True
        replaces = draw(st.lists(st.sampled_from(below), unique=True)) if below and inherits else []
        tiers.append(tier(f"t{n}", n, draw(st.lists(BENEFITS, unique=True, max_size=4)), inherit_benefits=inherits,
                          replaces=tuple(replaces)))
    return Program(tiers=tuple(tiers))


@given(ladders())
def test_a_tier_shows_what_the_tier_below_shows_less_what_it_replaces_plus_its_own_each_once(program):
    previous: tuple[str, ...] = ()
    for step in program.tiers:
        shown = benefits_of(step, program)
        expected = (set(previous) - set(step.replaces) if step.inherit_benefits else set()) | set(step.benefits)
        assert set(shown.all) == expected and len(shown.all) == len(expected)
        assert set(shown.new) == set(step.benefits) - set(previous) and not set(shown.new) & set(shown.kept)
        previous = shown.all
