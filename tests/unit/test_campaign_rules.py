"""The pure rules of campaigns: assignment is stable and follows the weights, the z-test gives the textbook
values, the verdict says what the figures say, and a definition that cannot work is refused naming the key."""
from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_core import errors
from loyalty_core.campaign_rules import HOLDOUT, Arm, arm_for, share_of, two_proportion_z_test, verdict
from loyalty_core.campaign_sending import TrackedLinks
from loyalty_core.campaigns import parse_definition


def definition(weights=("0.5", "0.3", "0.2"), holdout="0.1", **changes):
    variants = [{"name": name, "weight": Decimal(w), "text": "hi"} for name, w in zip("ABC", weights)]
    return parse_definition({"campaign_id": "c1", "name": "n", "kind": "marketing", "variants": variants,
                             "holdout": Decimal(holdout)} | changes)


def test_assignment_follows_the_weights_within_one_percent_over_100000_members():
    campaign = definition()
    arms = Counter(arm_for("c1", str(100_000 + n), campaign) for n in range(100_000))
    expected = {HOLDOUT: 0.1, "A": 0.9 * 0.5, "B": 0.9 * 0.3, "C": 0.9 * 0.2}
    for arm, share in expected.items():
        assert abs(arms[arm] / 100_000 - share) < 0.01, (arm, arms[arm])


@given(member=st.text(min_size=1, max_size=20), campaign_id=st.text(min_size=1, max_size=20))
def test_assignment_is_stable_and_differs_between_campaigns_only_by_their_ids(member, campaign_id):
    campaign = definition()
    assert arm_for(campaign_id, member, campaign) == arm_for(campaign_id, member, campaign)
    assert arm_for(campaign_id, member, campaign) in {"A", "B", "C", HOLDOUT}


@given(member=st.text(min_size=1, max_size=12), holdout=st.sampled_from(["0", "0.1", "0.25", "0.5"]),
       weights=st.sampled_from([("1",), ("0.5", "0.5"), ("0.5", "0.3", "0.2"), ("0.001", "0.999")]))
def test_assignment_is_the_documented_rule_worked_out_exactly(member, holdout, weights):
    campaign = definition(weights=weights, holdout=holdout)
    u = Fraction(int(hashlib.sha256(f"c1:{member}".encode()).hexdigest()[:15], 16), 16 ** 15)
    h = Fraction(holdout)
    expected, reached = HOLDOUT, Fraction(0)
    if u >= h:
        position = (u - h) / (1 - h)
        for name, weight in zip("ABC", weights):
            reached += Fraction(weight)
            if position < reached:
                expected = name
                break
    assert arm_for("c1", member, campaign) == expected


def test_no_holdout_puts_nobody_in_it_and_one_variant_takes_everyone_else():
    campaign = definition(weights=("1",), holdout="0")
    assert {arm_for("c1", str(n), campaign) for n in range(2000)} == {"A"}


def test_the_z_test_gives_the_textbook_values():
    # 500 of 1,000 against 450 of 1,000: pooled 0.475, z = 0.05 / sqrt(0.475 × 0.525 × 0.002) = 2.2389
    test = two_proportion_z_test(500, 1000, 450, 1000)
    assert test.z == pytest.approx(2.2389, abs=1e-4)
    assert test.p_value == pytest.approx(2 * (1 - NormalDist().cdf(2.2389)), abs=1e-4)
    assert test.p_value == pytest.approx(0.02516, abs=1e-4)
    # 31 of 100 against 24 of 100: not significant
    small = two_proportion_z_test(31, 100, 24, 100)
    assert small.z == pytest.approx(1.1085, abs=1e-4) and small.p_value == pytest.approx(0.2677, abs=1e-3)
    assert two_proportion_z_test(0, 0, 5, 10).p_value == 1.0
    assert two_proportion_z_test(0, 10, 0, 10).p_value == 1.0


def test_the_verdict_says_which_variant_wins_and_by_how_much():
    arms = [Arm("A", 1000, 240), Arm("B", 1000, 310), Arm(HOLDOUT, 200, 40)]
    assert verdict(arms) == "B beats A: 31% vs 24% conversion, p < 0.01"
    close = [Arm("A", 100, 24), Arm("B", 100, 31), Arm(HOLDOUT, 20, 4)]
    assert verdict(close) == "no clear difference between B and A: 31% vs 24% conversion, p = 0.27"
    alone = [Arm("A", 900, 270), Arm(HOLDOUT, 100, 20)]
    assert verdict(alone).startswith("A beats holdout: 30% vs 20% conversion")
    assert verdict([Arm("A", 0, 0), Arm(HOLDOUT, 0, 0)]) == "no members yet"


@pytest.mark.parametrize("changes, problem", [
    ({"holdout": Decimal("0.6")}, "holdout"),
    ({"kind": "service"}, "kind: must be one of marketing"),
    ({"conversion_days": 0}, "conversion_days"),
    ({"send_at": "2026-01-01T10:00:00"}, "send_at: needs a time zone"),
    ({"variants": []}, "variants: needs at least one variant"),
    ({"segment": {"spend_level": ["huge"]}}, "segment.spend_level[0]: unknown value 'huge'"),
    ({"extra": 1}, "extra: unknown key"),
])
def test_a_definition_that_cannot_work_names_the_key(changes, problem):
    with pytest.raises(errors.InvalidCampaign) as refused:
        definition(**changes)
    assert problem in str(refused.value)


def test_weights_must_add_up_to_one():
    with pytest.raises(errors.InvalidCampaign, match="add up to 1"):
        definition(weights=("0.5", "0.3", "0.1"))


def test_each_member_falls_to_one_share_and_the_shares_are_near_even():
    ids = [str(1_000_000 + n) for n in range(10_000)]
    counts = Counter(share_of(member_id, 3) for member_id in ids)
    assert set(counts) == {0, 1, 2} and all(3000 < n < 3700 for n in counts.values())
    assert all(share_of(member_id, 1) == 0 for member_id in ids[:100])


def test_a_tracked_link_is_the_same_when_rendered_again_and_needs_the_key_to_make():
    url = "https://mall.example/offer"
    made = TrackedLinks("/r/", b"k" * 32, "spring", "100001", "A").link(url)
    assert TrackedLinks("/r/", b"k" * 32, "spring", "100001", "A").link(url) == made
    assert TrackedLinks("/r/", b"x" * 32, "spring", "100001", "A").link(url) != made
    unkeyed = hashlib.sha256(f"spring|100001|{url}".encode()).hexdigest()[:22]
    assert made != "/r/" + unkeyed
