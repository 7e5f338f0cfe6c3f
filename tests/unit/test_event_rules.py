"""The event rules that need no Redis: the definition staff send, the priority window, the audience, and when
each reminder is due."""
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_core import errors
from loyalty_core.clock import MALL_TZ
from loyalty_core.event_rules import check_signup, parse_event, reminder_due, signup_opens_at

TIERS = ("member", "gold", "platinum", "diamond")
NOW = datetime(2026, 2, 1, 10, 0, tzinfo=MALL_TZ)


def raw(**changes) -> dict:
    starts = NOW + timedelta(days=5)
    return {"event_id": "tasting", "title": "春季品酒会", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(), "place": "三楼中庭", "capacity": 50,
            "community_id": None, "min_tier": None, "priority_tiers_hours": {"diamond": 48, "platinum": 24},
            "signup_deadline": (starts - timedelta(hours=3)).isoformat(), "notes": "请着正装"} | changes


def test_a_definition_becomes_an_event_published_now():
    event = parse_event(raw(starts_at="2026-02-06T10:00:00"), TIERS, NOW)      # no offset: the mall's time
    assert event.starts_at == datetime(2026, 2, 6, 10, 0, tzinfo=MALL_TZ) and event.published_at == NOW
    assert event.signup_deadline == datetime(2026, 2, 6, 7, 0, tzinfo=MALL_TZ)


@pytest.mark.parametrize("changes", [
    {"starts_at": (NOW - timedelta(hours=1)).isoformat()}, {"ends_at": (NOW + timedelta(days=1)).isoformat()},
    {"signup_deadline": (NOW + timedelta(days=6)).isoformat()}, {"capacity": 0}, {"capacity": True},
    {"capacity": "50"}, {"min_tier": "vip"}, {"priority_tiers_hours": {"vip": 2}},
    {"priority_tiers_hours": {"diamond": 0}}, {"title": ""}, {"notes": "长" * 501}, {"event_id": "品酒"},
    {"colour": "red"}, {"starts_at": "2026-02-30T10:00:00"}, {"community_id": ""}])
def test_a_wrong_definition_is_refused(changes):
    with pytest.raises((errors.InvalidRequest, errors.InvalidTime)):
        parse_event(raw(**changes), TIERS, NOW)


@pytest.mark.parametrize("tier, opens_after_hours", [("diamond", 0), ("platinum", 24), ("gold", 48), ("member", 48)])
def test_higher_tiers_sign_up_earlier(tier, opens_after_hours):
    event = parse_event(raw(), TIERS, NOW)
    assert signup_opens_at(event, tier, TIERS) == NOW + timedelta(hours=opens_after_hours)


def test_a_tier_has_the_head_start_of_the_tiers_below_it():
    event = parse_event(raw(priority_tiers_hours={"gold": 12}), TIERS, NOW)
    assert [signup_opens_at(event, tier, TIERS) - NOW for tier in TIERS] == [timedelta(hours=12)] + [timedelta(0)] * 3


@given(st.dictionaries(st.sampled_from(TIERS), st.integers(1, 720)), st.sampled_from(TIERS), st.sampled_from(TIERS))
def test_a_higher_tier_never_opens_later(head_starts, lower, higher):
    event = parse_event(raw(priority_tiers_hours=head_starts), TIERS, NOW)
    if TIERS.index(lower) <= TIERS.index(higher):
        assert signup_opens_at(event, higher, TIERS) <= signup_opens_at(event, lower, TIERS)
    assert NOW <= signup_opens_at(event, lower, TIERS)


def test_the_audience_and_the_deadline():
    event = parse_event(raw(min_tier="gold", community_id="wine", priority_tiers_hours={}), TIERS, NOW)
    check_signup(event, "gold", TIERS, True, NOW)
    with pytest.raises(errors.EventNotForMember):
        check_signup(event, "member", TIERS, True, NOW)
    with pytest.raises(errors.EventNotForMember):
        check_signup(event, "diamond", TIERS, False, NOW)
    with pytest.raises(errors.SignupClosed):
        check_signup(event, "gold", TIERS, True, event.signup_deadline)
    with pytest.raises(errors.SignupNotOpen):
        check_signup(parse_event(raw(), TIERS, NOW), "member", TIERS, False, NOW)


@pytest.mark.parametrize("hours_left, due", [
    (30, set()), (24, {24}), (3, {24}), (2, {2}), (0.5, {2}), (0, set()), (-1, set())])
def test_each_reminder_is_due_in_its_own_span(hours_left, due):
    event = parse_event(raw(), TIERS, NOW)
    now = event.starts_at - timedelta(hours=hours_left)
    assert {hours for hours in (24, 2) if reminder_due(event, hours, (24, 2), now)} == due


def test_the_invitations_segment_is_the_events_audience_narrowed_never_widened():
    from loyalty_core.mall_events import invitation_segment
    community_event = parse_event(raw(community_id="wine", min_tier="platinum"), TIERS, NOW)
    assert invitation_segment(community_event, TIERS, None) == {"communities": ["wine"], "tiers": ["platinum", "diamond"]}
    assert invitation_segment(community_event, TIERS, {"tiers": ["diamond", "gold"], "lifecycle": ["active"]}) == \
        {"communities": ["wine"], "tiers": ["diamond"], "lifecycle": ["active"]}
    for wider in ({"tiers": ["gold"]}, {"communities": ["yoga"]}, {"communities": "wine"}, ["tiers"]):
        with pytest.raises(errors.InvalidRequest):
            invitation_segment(community_event, TIERS, wider)
    open_event = parse_event(raw(), TIERS, NOW)
    assert invitation_segment(open_event, TIERS, None) == {}
    assert invitation_segment(open_event, TIERS, {"tiers": "gold"}) == {"tiers": "gold"}   # the segment's check names it


def test_each_invitation_segment_is_a_campaign_of_its_own_within_the_48_characters_of_an_id():
    from loyalty_core.mall_events import invitation_campaign_id
    assert invitation_campaign_id("tasting", {}) == invitation_campaign_id("tasting", None) == "event-tasting"
    narrower = invitation_campaign_id("tasting", {"tiers": ["gold"]})
    assert narrower.startswith("event-tasting-") and narrower != invitation_campaign_id("tasting", {"tiers": ["vip"]})
    long_ids = [invitation_campaign_id("x" * 48, segment) for segment in (None, {"tiers": ["gold"]})]
    assert all(len(campaign_id) <= 48 for campaign_id in long_ids) and len(set(long_ids)) == 2
    assert invitation_campaign_id("x" * 48, None) != invitation_campaign_id("x" * 47 + "y", None)
