"""The delivery planner, table by table: quotas, consent, kinds, quiet hours, caps, unsubscribed, expiry;
then its properties over random pushes, facts, moments and policies."""
from __future__ import annotations

import tomllib
from datetime import datetime, time, timedelta
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import given, strategies as st

from loyalty_core.clock import MALL_TZ
from loyalty_core.push import hours
from loyalty_core.push.model import Content, Decision, MemberFacts, Notice, Push, Window
from loyalty_core.program import QuietHours, load_program, program_from_dict
from loyalty_core.push.planner import PushPolicy, plan, plan_each

THURSDAY = datetime(2026, 1, 15, 10, 0, tzinfo=MALL_TZ)
POLICY = PushPolicy()
TEMPLATE = Notice("TPL_POINTS_CHANGED", {"thing1": "积分到账", "number2": "520"}, url="https://mall.example/p")
SUBSCRIBE = Notice("SUB_EVENT_REMINDER", {"thing1": "品酒会", "time2": "1月16日 19:00"})
MASS = {"msgtype": "text", "text": {"content": "会员日：全场积分双倍"}}


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=MALL_TZ)


def push(kind="service", channels=("custom",), not_after: datetime | None = None, topic="points_earned") -> Push:
    content = Content(custom={"msgtype": "text", "text": {"content": "您的积分已到账"}} if "custom" in channels else None,
                      template=TEMPLATE if "template" in channels else None,
                      subscribe=SUBSCRIBE if "subscribe" in channels else None,
                      mass=MASS if "mass" in channels else None)
    return Push("p1", "100001", kind, topic, not_after or THURSDAY + timedelta(days=3), content)


def window(action="message", ago=timedelta(0), used=0, now=THURSDAY) -> Window:
    opened = Window.opened_by(action, now - ago)
    return Window(opened.action, opened.opened_at, opened.closes_at, opened.limit, used)


OPEN = window()
MARKETING = dict(kind="marketing", topic="campaign:spring")

CASES = [
    # -- unsubscribed, expiry, duplicates ---------------------------------------------------------------
    ("not following", push(), MemberFacts(following=False, window=OPEN), THURSDAY, Decision.drop("unsubscribed")),
    ("not following wins over expiry", push(not_after=THURSDAY), MemberFacts(following=False), THURSDAY,
     Decision.drop("unsubscribed")),
    ("past not_after", push(not_after=THURSDAY - timedelta(seconds=1)), MemberFacts(window=OPEN), THURSDAY,
     Decision.expire()),
    ("exactly at not_after", push(not_after=THURSDAY), MemberFacts(window=OPEN), THURSDAY, Decision.expire()),
    ("the same dedup key again", push(), MemberFacts(window=OPEN, duplicate=True), THURSDAY,
     Decision.drop("duplicate")),
    # -- customer-service windows -----------------------------------------------------------------------------
    ("a message window with all 5 left", push(), MemberFacts(window=OPEN), THURSDAY, Decision.send("custom")),
    ("a message window with 1 left", push(), MemberFacts(window=window(used=4)), THURSDAY, Decision.send("custom")),
    ("a message window used up goes as a template", push(channels=("custom", "template")),
     MemberFacts(window=window(used=5)), THURSDAY, Decision.send("template")),
    ("a message window closing within the margin", push(channels=("custom", "template")),
     MemberFacts(window=window(ago=timedelta(hours=48) - timedelta(seconds=3))), THURSDAY,
     Decision.send("template")),
    ("a message window past 48 h", push(channels=("custom", "template")),
     MemberFacts(window=window(ago=timedelta(hours=49))), THURSDAY, Decision.send("template")),
    ("a menu tap 30 s ago with 1 of 3 left", push(), MemberFacts(window=window("click", timedelta(seconds=30), 2)),
     THURSDAY, Decision.send("custom")),
    ("a menu tap's 3 used", push(channels=("custom", "template")),
     MemberFacts(window=window("click", timedelta(seconds=30), 3)), THURSDAY, Decision.send("template")),
    ("a follow 56 s ago: 4 s left is inside the margin", push(channels=("custom", "template")),
     MemberFacts(window=window("follow", timedelta(seconds=56))), THURSDAY, Decision.send("template")),
    ("a scan 10 s ago", push(), MemberFacts(window=window("scan", timedelta(seconds=10))), THURSDAY,
     Decision.send("custom")),
    ("a window but no customer-service content", push(channels=("template",)), MemberFacts(window=OPEN), THURSDAY,
     Decision.send("template")),
    # -- kinds and channels ----------------------------------------------------------------------------------
    ("marketing in a window by day", push(**MARKETING), MemberFacts(window=OPEN), THURSDAY, Decision.send("custom")),
    ("a service notice without a window", push(channels=("custom", "template")), MemberFacts(), THURSDAY,
     Decision.send("template")),
    ("a consent for the subscribe template", push(channels=("custom", "subscribe")),
     MemberFacts(consents={"SUB_EVENT_REMINDER": 1}), THURSDAY, Decision.send("subscribe")),
    ("a consent for another template only", push(channels=("custom", "subscribe")),
     MemberFacts(consents={"SUB_BIRTHDAY_GIFT": 2, "SUB_EVENT_REMINDER": 0}), THURSDAY,
     Decision.inbox(THURSDAY + timedelta(days=3))),
    ("template before subscribe for a service notice", push(channels=("template", "subscribe")),
     MemberFacts(consents={"SUB_EVENT_REMINDER": 1}), THURSDAY, Decision.send("template")),
    ("marketing never goes as a template", push(channels=("template",), **MARKETING), MemberFacts(), THURSDAY,
     Decision.drop("no_channel")),
    ("marketing with a template waits in the inbox", push(channels=("custom", "template"), **MARKETING),
     MemberFacts(), THURSDAY, Decision.inbox(THURSDAY + timedelta(days=3))),
    ("marketing by subscribe message with a consent", push(channels=("subscribe",), **MARKETING),
     MemberFacts(consents={"SUB_EVENT_REMINDER": 3}), THURSDAY, Decision.send("subscribe")),
    ("marketing by mass send with 3 of 4 used", push(channels=("custom", "mass"), **MARKETING),
     MemberFacts(mass_this_month=3), THURSDAY, Decision.send("mass")),
    ("marketing over the monthly mass quota waits in the inbox", push(channels=("custom", "mass"), **MARKETING),
     MemberFacts(mass_this_month=4), THURSDAY, Decision.inbox(THURSDAY + timedelta(days=3))),
    ("mass content only and the quota used", push(channels=("mass",), **MARKETING), MemberFacts(mass_this_month=4),
     THURSDAY, Decision.drop("no_channel")),
    ("a service notice is never a mass send", push(channels=("mass",)), MemberFacts(), THURSDAY,
     Decision.drop("no_channel")),
    ("a window beats a mass send", push(channels=("custom", "mass"), **MARKETING), MemberFacts(window=OPEN),
     THURSDAY, Decision.send("custom")),
    ("a mass batch of one closed the mass channel", push(channels=("custom", "mass"), **MARKETING),
     MemberFacts(closed=frozenset({"mass"})), THURSDAY, Decision.inbox(THURSDAY + timedelta(days=3))),
    ("no window, no template, no consent", push(), MemberFacts(), THURSDAY,
     Decision.inbox(THURSDAY + timedelta(days=3))),
    # -- quiet hours ----------------------------------------------------------------------------------------
    ("marketing at 22:00 waits for 09:00", push(**MARKETING), MemberFacts(window=window(now=at(15, 22))),
     at(15, 22), Decision.defer(at(16, 9), "quiet_hours")),
    ("marketing at 08:59 waits a minute", push(**MARKETING), MemberFacts(window=window(now=at(15, 8, 59))),
     at(15, 8, 59), Decision.defer(at(15, 9), "quiet_hours")),
    ("marketing at 21:29:59 goes", push(**MARKETING), MemberFacts(window=window(now=at(15, 21, 29, 59))),
     at(15, 21, 29, 59), Decision.send("custom")),
    ("marketing at 21:30 waits", push(**MARKETING), MemberFacts(window=window(now=at(15, 21, 30))), at(15, 21, 30),
     Decision.defer(at(16, 9), "quiet_hours")),
    ("marketing at 09:00 goes", push(**MARKETING), MemberFacts(window=window(now=at(15, 9))), at(15, 9),
     Decision.send("custom")),
    ("a service notice at 23:00 goes", push(), MemberFacts(window=window(now=at(15, 23))), at(15, 23),
     Decision.send("custom")),
    ("marketing whose not_after falls in the quiet hours", push(not_after=at(16, 8), **MARKETING),
     MemberFacts(window=window(now=at(15, 23))), at(15, 23), Decision.drop("quiet_hours")),
    # -- frequency caps ---------------------------------------------------------------------------------------
    ("one marketing push today already", push(**MARKETING), MemberFacts(window=OPEN, marketing_today=1,
                                                                          marketing_this_week=1),
     THURSDAY, Decision.defer(at(16, 9), "daily_cap")),
    ("three this week already", push(not_after=at(22, 10), **MARKETING), MemberFacts(window=OPEN, marketing_this_week=3), THURSDAY,
     Decision.defer(at(19, 9), "weekly_cap")),
    ("the daily cap outlasts not_after", push(not_after=at(15, 20), **MARKETING),
     MemberFacts(window=OPEN, marketing_today=1, marketing_this_week=1), THURSDAY, Decision.drop("capped")),
    ("two this week, none today", push(**MARKETING), MemberFacts(window=OPEN, marketing_this_week=2), THURSDAY,
     Decision.send("custom")),
    ("a service notice ignores the caps", push(), MemberFacts(window=OPEN, marketing_today=5, marketing_this_week=5),
     THURSDAY, Decision.send("custom")),
    ("Sunday evening over the weekly cap waits for Monday 09:00", push(not_after=at(22, 10), **MARKETING),
     MemberFacts(window=window(now=at(18, 20)), marketing_this_week=3), at(18, 20),
     Decision.defer(at(19, 9), "weekly_cap")),
    ("a quiet evening over the daily cap waits for the cap, past the quiet hours", push(**MARKETING),
     MemberFacts(window=window(now=at(15, 23)), marketing_today=1, marketing_this_week=1), at(15, 23),
     Decision.defer(at(16, 9), "daily_cap")),
]


@pytest.mark.parametrize("name, the_push, facts, now, expected", CASES, ids=[case[0] for case in CASES])
def test_planner_table(name, the_push, facts, now, expected):
    assert plan(the_push, facts, now, POLICY) == expected


def test_the_table_is_at_least_thirty_cases():
    assert len(CASES) >= 30


def test_without_quiet_hours_marketing_goes_at_night():
    policy = PushPolicy(quiet_hours=None)
    assert plan(push(**MARKETING), MemberFacts(window=window(now=at(15, 23))), at(15, 23), policy) == \
        Decision.send("custom")


def test_a_higher_daily_cap_lets_a_second_push_through():
    policy = PushPolicy(marketing_per_day=2)
    facts = MemberFacts(window=OPEN, marketing_today=1, marketing_this_week=1)
    assert plan(push(**MARKETING), facts, THURSDAY, policy) == Decision.send("custom")


def test_a_cap_of_zero_drops_marketing():
    assert plan(push(**MARKETING), MemberFacts(window=OPEN), THURSDAY, PushPolicy(marketing_per_day=0)) == \
        Decision.drop("capped")


def test_quiet_hours_that_do_not_cross_midnight():
    policy = PushPolicy(quiet_hours=QuietHours(time(12, 0), time(14, 0)))
    facts = MemberFacts(window=window(now=at(15, 13)))
    assert plan(push(**MARKETING), facts, at(15, 13), policy) == Decision.defer(at(15, 14), "quiet_hours")
    assert plan(push(**MARKETING), facts, at(15, 14), policy) == Decision.send("custom")


def program_with_push(push: dict):
    raw = tomllib.loads(resources.files("loyalty_core").joinpath("program_default.toml").read_text(),
                        parse_float=Decimal)
    return program_from_dict(raw | {"push": push})


def test_the_program_files_push_table_is_the_policy():
    policy = PushPolicy.from_program(program_with_push({"quiet_hours": ["22:00", "08:00"], "marketing_per_day": 2,
                                                        "marketing_per_week": 5}).push)
    assert (policy.quiet_hours, policy.marketing_per_day, policy.marketing_per_week) == (
        QuietHours(time(22, 0), time(8, 0)), 2, 5)
    assert PushPolicy.from_program(program_with_push({"quiet_hours": []}).push).quiet_hours is None
    assert PushPolicy.from_program(load_program().push) == PushPolicy()


def test_a_negative_cap_is_refused():
    with pytest.raises(ValueError, match="marketing_per_week"):
        PushPolicy(marketing_per_week=-1)


# -- properties ---------------------------------------------------------------------------------------------
CHANNEL_SETS = st.sets(st.sampled_from(["custom", "template", "subscribe", "mass"]), min_size=1)
START = datetime(2026, 1, 12, 0, 0, tzinfo=MALL_TZ)          # a Monday
moments = st.integers(0, 14 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))
quiet = st.one_of(st.none(), st.tuples(st.integers(0, 95), st.integers(0, 95)).filter(lambda q: q[0] != q[1]).map(
    lambda q: QuietHours(time(q[0] // 4, 15 * (q[0] % 4)), time(q[1] // 4, 15 * (q[1] % 4)))))
policies = st.builds(PushPolicy, quiet_hours=quiet, marketing_per_day=st.integers(0, 3),
                     marketing_per_week=st.integers(0, 5))


@st.composite
def situations(draw):
    now = draw(moments)
    kind = draw(st.sampled_from(["service", "marketing"]))
    channels = draw(CHANNEL_SETS)
    not_after = now + timedelta(minutes=draw(st.integers(-60, 10 * 24 * 60)))
    the_push = push(kind=kind, channels=channels, not_after=not_after)
    the_window = draw(st.one_of(st.none(), st.builds(
        lambda action, ago, used: window(action, timedelta(seconds=ago), used, now),
        st.sampled_from(["message", "click", "follow", "scan"]), st.integers(0, 50 * 3600), st.integers(0, 5))))
    facts = MemberFacts(following=draw(st.booleans()) or draw(st.booleans()), window=the_window,
                        consents={"SUB_EVENT_REMINDER": draw(st.integers(0, 2))},
                        mass_this_month=draw(st.integers(0, 5)), marketing_today=draw(st.integers(0, 3)),
                        marketing_this_week=draw(st.integers(0, 6)), duplicate=draw(st.booleans()) and
                        draw(st.booleans()))
    return the_push, facts, now, draw(policies)


@given(situations())
def test_marketing_never_goes_as_a_template_nor_in_quiet_hours(situation):
    the_push, facts, now, policy = situation
    decision = plan(the_push, facts, now, policy)
    if the_push.kind == "marketing":
        assert decision.channel != "template"
        if decision.status == "queued":
            assert not hours.in_quiet_hours(now, policy.quiet_hours)
        if decision.status == "deferred":
            assert not hours.in_quiet_hours(decision.until, policy.quiet_hours)


@given(situations())
def test_nothing_is_planned_past_not_after(situation):
    the_push, facts, now, policy = situation
    decision = plan(the_push, facts, now, policy)
    if decision.status in ("queued", "deferred", "pending_inbox"):
        assert now < the_push.not_after
    if decision.status == "deferred":
        assert now < decision.until < the_push.not_after
    if decision.status == "pending_inbox":
        assert decision.until == the_push.not_after


@given(situations())
def test_each_channel_only_with_what_it_needs(situation):
    the_push, facts, now, policy = situation
    decision = plan(the_push, facts, now, policy)
    if decision.status == "queued":
        assert facts.following and not facts.duplicate and the_push.content.offers(decision.channel)
    if decision.channel == "custom":
        assert facts.window is not None and facts.window.left(now, policy.window_margin) > 0
        assert now + policy.window_margin < facts.window.closes_at
    if decision.channel == "subscribe":
        assert facts.consents["SUB_EVENT_REMINDER"] > 0
    if decision.channel == "mass":
        assert the_push.kind == "marketing" and facts.mass_this_month < policy.mass_per_month
    if not facts.following:
        assert decision == Decision.drop("unsubscribed")


@given(situations())
def test_marketing_over_a_cap_is_never_queued(situation):
    the_push, facts, now, policy = situation
    decision = plan(the_push, facts, now, policy)
    over = facts.marketing_today >= policy.marketing_per_day or facts.marketing_this_week >= policy.marketing_per_week
    if the_push.kind == "marketing" and over:
        assert decision.status != "queued"


def test_a_batch_is_planned_push_by_push_on_each_members_own_facts():
    cases = [case for case in CASES if case[3] == THURSDAY]
    decisions = plan_each([(the_push, facts) for _, the_push, facts, _, _ in cases], THURSDAY, POLICY)
    assert decisions == [expected for *_, expected in cases] and len(set(decisions)) > 3
