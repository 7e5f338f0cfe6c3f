"""The program file: the packaged default loads; each kind of mistake stops the start with its key path."""
import dataclasses
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from loyalty_core.clock import MALL_TZ
from loyalty_core.program import (
    Program, ProgramError, QuietHours, load_program, parse_program, program_from_dict,
)

DEFAULT = (Path(__file__).parents[2] / "loyalty_core" / "program_default.toml").read_text()


def test_the_packaged_default_has_the_seed_numbers():
    program = load_program()
    assert [(t.code, t.threshold, t.multiplier) for t in program.tiers] == [
        ("member", 0, 1), ("gold", 50000, 2), ("platinum", 100000, Decimal("2.5")), ("diamond", 200000, 3)]
    assert program.tiers[2].name == "白金卡" and program.tiers[1].upgrade_reward > 0
    assert (program.points.base_rate, program.points.lot_lifetime_months, program.points.expiry_warning_days) == \
        (1, 12, 30)
    assert (program.promotions.member_day, program.promotions.birthday_multiplier) == (18, 2)
    assert date(2026, 11, 11) in program.promotions.double_points_dates
    assert program.leaderboard.size == 10 and program.till.max_purchase_amount == 500_000
    assert program.member_code.validity == timedelta(minutes=5)


def test_a_file_given_by_path_is_loaded(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(DEFAULT.replace("member_day = 18", "member_day = 8"))
    assert load_program(path).promotions.member_day == 8


def edited(old: str, new: str) -> str:
    assert old in DEFAULT, old
    return DEFAULT.replace(old, new, 1)


@pytest.mark.parametrize("text, message", [
    (edited("threshold = 100000", "threshold = -1"), "tiers[2].threshold: must be a number ≥ 0"),
    (edited("threshold = 100000", 'threshold = "lots"'), "tiers[2].threshold: must be a number ≥ 0"),
    (edited("threshold = 100000", "threshold = 40000"), "tiers[2].threshold: must be above tiers[1].threshold"),
    (edited("multiplier = 2.5", "multiplier = 1.5"), "tiers[2].multiplier: must be at least tiers[1].multiplier"),
    (edited("threshold = 50000", "threshold = 0"), "tiers: exactly one tier must have threshold 0 (found 2)"),
    (edited('code = "platinum"', 'code = "gold"'), "tiers[2].code: duplicate tier code 'gold'"),
    (edited('name = "金卡"\n', ""), "tiers[1].name: is required"),
    (edited("upgrade_reward = 500", "upgrade_reward = 12.5"), "tiers[1].upgrade_reward: must be a whole number"),
    (edited("multiplier = 3", "mutliplier = 3"), "tiers[3].multiplier: is required"),
    (edited("benefits = [\"消费积分\", \"入会礼券\"]", "benefits = [\"消费积分\", \"入会礼券\"]\nperks = 1"),
     "tiers[0].perks: unknown key"),
    (edited("base_rate = 1 ", "base_rate = 0 "), "points.base_rate: must be a number > 0"),
    (edited("expiry_warning_days = 30", "expiry_warning_days = true"), "points.expiry_warning_days: must be"),
    (edited("lot_lifetime_months = 12", "lot_lifetime_months = 1"),
     "points.expiry_warning_days: must be shorter than the lot lifetime (1 months)"),
    (edited("member_day = 18", "member_day = 32"), "promotions.member_day: must be a day of the month (1 to 31), a weekday (mon, tue, wed, thu, fri, sat, sun), or 0 for none"),
    (edited("double_points_weekdays = []", 'double_points_weekdays = ["someday"]'),
     "promotions.double_points_weekdays: unknown weekday 'someday'"),
    (edited("double_points_dates = [2026-11-11, 2026-12-12]", 'double_points_dates = ["11/11"]'),
     "promotions.double_points_dates[0]: must be a date (YYYY-MM-DD)"),
    (edited("double_points_dates = [2026-11-11, 2026-12-12]", "double_points_dates = [2026-11-11T10:00:00]"),
     "promotions.double_points_dates[0]: must be a date (YYYY-MM-DD)"),
    (edited("birthday_multiplier = 2", "birthday_multiplier = 0.5"), "promotions.birthday_multiplier: must be a number ≥ 1"),
    (edited('max_purchase_amount = "500000"', 'max_purchase_amount = "NaN"'), "till.max_purchase_amount: must be"),
    (edited("[leaderboard]", "[leaderbord]"), "leaderbord: unknown section"),
    ("tiers = [", "not valid TOML"),
    ("[points]\nbase_rate = 1\n", "tiers: is required"),
])
def test_each_kind_of_mistake_names_the_key_and_the_problem(text, message):
    with pytest.raises(ProgramError) as raised:
        parse_program(text)
    assert message in str(raised.value)


MINIMAL_TIERS = [{"code": "member", "name": "普卡", "threshold": 0, "multiplier": 1}]
SECTIONS = sorted(field.name for field in dataclasses.fields(Program) if field.name != "tiers")


def test_a_section_that_is_not_a_table_is_refused():
    with pytest.raises(ProgramError, match="leaderboard: must be a table"):
        program_from_dict({"tiers": MINIMAL_TIERS, "leaderboard": 10})


@pytest.mark.parametrize("name", SECTIONS)
def test_every_section_is_a_table_of_known_keys_with_its_defaults_stated_once(name):
    """Adding a section = a table class and a Program field: it defaults as a whole, and refuses keys it
    does not declare."""
    program = program_from_dict({"tiers": MINIMAL_TIERS})
    assert getattr(program, name) == type(getattr(program, name))()
    with pytest.raises(ProgramError) as refused:
        program_from_dict({"tiers": MINIMAL_TIERS, name: {"nonsense": 1}})
    assert str(refused.value).startswith(f"{name}.nonsense: unknown key")


def test_every_problem_is_reported_on_its_own_line():
    text = edited("member_day = 18", "member_day = 40").replace("size = 10 ", "size = 0 ")
    with pytest.raises(ProgramError) as refused:
        parse_program(text)
    member_day = "must be a day of the month (1 to 31), a weekday (mon, tue, wed, thu, fri, sat, sun), or 0 for none"
    assert str(refused.value).splitlines() == [f"promotions.member_day: {member_day}",
                                               "leaderboard.size: must be a whole number between 1 and 100"]
    assert (refused.value.path, refused.value.problem) == ("promotions.member_day", member_day)


def test_fractions_are_read_as_decimals_never_floats():
    program = load_program()
    assert program.tiers[2].multiplier == Decimal("2.5") and isinstance(program.tiers[2].multiplier, Decimal)
    assert program.referral.levels[0].multiplier == Decimal("1.5")
    with pytest.raises(ProgramError, match="tiers.0..multiplier: must be a number > 0"):
        program_from_dict({"tiers": [{**MINIMAL_TIERS[0], "multiplier": 1.5}]})


# -- the sections the push side, tier reviews, referrals and the welcome gift read -------------------------
def test_the_seed_program_sets_the_push_limits_the_grace_and_hold_periods_and_the_welcome_gift():
    program = load_program()
    quiet = program.push.quiet_hours
    assert (quiet.start, quiet.end) == (time(21, 30), time(9, 0))
    assert (program.push.marketing_per_day, program.push.marketing_per_week) == (1, 3)
    assert program.tier_review.upgrade_grace == timedelta(days=30)
    assert program.referral.unfollowed_hold == timedelta(days=30)
    assert (program.welcome.coupon, program.welcome.points) == ("welcome-20", 0)
    assert program.coupons.template("welcome-20").title == "新会员立减券"


def test_the_seed_program_rewards_coming_to_an_event_and_reminds_a_day_and_two_hours_before():
    events = load_program().events
    assert (events.checkin_points, events.reminder_hours) == (50, (24, 2))
    assert (events.feedback, events.every) == (timedelta(days=3), timedelta(minutes=10))


def test_no_quiet_hours_and_a_grace_of_zero():
    program = parse_program(edited('quiet_hours = ["21:30", "09:00"]', "quiet_hours = []")
                            .replace("upgrade_grace_days = 30", "upgrade_grace_days = 0"))
    assert program.push.quiet_hours is None and program.tier_review.upgrade_grace == timedelta(0)


@pytest.mark.parametrize("text, message", [
    (edited('quiet_hours = ["21:30", "09:00"]', 'quiet_hours = ["21:30", "9:00"]'),
     "push.quiet_hours[1]: must be a time of day (HH:MM)"),
    (edited('quiet_hours = ["21:30", "09:00"]', 'quiet_hours = ["24:00", "09:00"]'),
     "push.quiet_hours[0]: must be a time of day (HH:MM)"),
    (edited('quiet_hours = ["21:30", "09:00"]', 'quiet_hours = ["21:30"]'),
     'push.quiet_hours: must be ["HH:MM", "HH:MM"] (from, until) or [] for none'),
    (edited('quiet_hours = ["21:30", "09:00"]', 'quiet_hours = ["21:30", "21:30"]'),
     "push.quiet_hours[1]: must start and end at different times"),
    (edited("marketing_per_week = 3", "marketing_per_week = 0"),
     "push.marketing_per_week: must be a whole number between 1 and 70"),
    (edited("marketing_per_day = 1", "marketing_per_day = 4"),
     "push.marketing_per_week: must be at least push.marketing_per_day (4)"),
    (edited("upgrade_grace_days = 30", "upgrade_grace_days = -1"),
     "tier_review.upgrade_grace_days: must be a whole number between 0 and 365"),
    (edited("unfollowed_hold_days = 30", "unfollowed_hold_days = 1.5"),
     "referral.unfollowed_hold_days: must be a whole number between 0 and 365"),
    (edited('coupon = "welcome-20"', 'coupon = "welcome-200"'),
     "welcome.coupon: unknown coupon template 'welcome-200'"),
    (edited("points = 0\n\n# Messages", "points = -5\n\n# Messages"),
     "welcome.points: must be a whole number between 0 and 1000000"),
    (edited('replaces = ["2.5 倍积分"]', 'replaces = ["2.5倍积分"]'),
     "tiers[3].replaces[0]: '2.5倍积分' is not a benefit of a lower tier"),
    (edited('replaces = ["2.5 倍积分"]', 'replaces = ["2.5 倍积分"]\ninherit_benefits = false'),
     "tiers[3].replaces: needs inherit_benefits = true"),
    (edited('replaces = ["消费积分"]', 'replaces = ["积分加倍"]'),
     "tiers[1].replaces[0]: '积分加倍' is not a benefit of a lower tier"),
    (edited("checkin_points = 50", "checkin_points = -1"),
     "events.checkin_points: must be a whole number between 0 and 100000"),
    (edited("reminder_hours = [24, 2]", "reminder_hours = [24, 0]"),
     "events.reminder_hours[1]: must be a whole number between 1 and 168"),
    (edited("feedback_days = 3", "feedback_days = 0"), "events.feedback_days"),
    (edited("days_after = 3", "days_after = 0"), "survey.days_after: must be a whole number between 1 and 30"),
    (edited("per_manager_per_day = 3", "per_manager_per_day = 0"),
     "broadcasts.per_manager_per_day: must be a whole number between 1 and 50"),
])
def test_mistakes_in_the_new_sections_name_their_key(text, message):
    with pytest.raises(ProgramError) as raised:
        parse_program(text)
    assert message in str(raised.value)


@given(st.times(), st.times(), st.times())
def test_quiet_hours_hold_from_their_start_until_their_end_across_midnight_too(start, end, moment):
    start, end, moment = (t.replace(second=0, microsecond=0) for t in (start, end, moment))
    assume(start != end)
    quiet = QuietHours(start, end)
    at = datetime.combine(date(2026, 6, 1), moment, MALL_TZ)
    inside = start <= moment < end if start < end else not end <= moment < start
    assert quiet.contains(at) == inside
    assert quiet.contains(at.astimezone(timezone.utc)) == inside        # judged in the mall's time


def test_the_seed_quiet_hours_run_from_half_past_nine_at_night_until_nine_in_the_morning():
    quiet = load_program().push.quiet_hours
    at = lambda hh, mm: datetime(2026, 6, 1, hh, mm, tzinfo=MALL_TZ)   # noqa: E731
    assert [quiet.contains(at(*t)) for t in ((21, 29), (21, 30), (0, 0), (8, 59), (9, 0), (12, 0))] == \
        [False, True, True, True, False, False]


def test_the_till_sections_default_to_100_points_a_yuan_half_a_basket_and_a_week_to_join():
    program = load_program()
    payment = program.points.payment
    assert (payment.enabled, payment.points_per_yuan, payment.min_points, payment.max_share_percent) == (True, 100, 100, 50)
    assert program.till.walk_in_join == timedelta(days=7)
    changed = parse_program(edited("points_per_yuan = 100", "points_per_yuan = 150").replace(
        "walk_in_join_days = 7", "walk_in_join_days = 3").replace("max_share_percent = 50", "max_share_percent = 30"))
    assert (changed.points.payment.points_per_yuan, changed.points.payment.max_share_percent) == (150, 30)
    assert changed.till.walk_in_join == timedelta(days=3)


@pytest.mark.parametrize("text, message", [
    (edited("points_per_yuan = 100", "points_per_yuan = 0"),
     "points.payment.points_per_yuan: must be a whole number between 1 and 100000"),
    (edited("max_share_percent = 50", "max_share_percent = 120"),
     "points.payment.max_share_percent: must be a whole number between 1 and 100"),
    (edited("min_points = 100", "min_points = 1.5"), "points.payment.min_points: must be a whole number"),
    (edited("[points.payment]", "[points.payments]"), "points.payments: unknown key"),
    (edited("walk_in_join_days = 7", "walk_in_join_days = 60"), "till.walk_in_join_days: must be"),
])
def test_mistakes_in_the_till_settings_name_their_key(text, message):
    with pytest.raises(ProgramError) as raised:
        parse_program(text)
    assert message in str(raised.value)


def test_the_segments_and_lifecycle_sections_have_their_defaults():
    program = load_program()
    assert (program.segments.high_spend, program.segments.mid_spend) == (20000, 3000)
    assert program.segments.category_coupons == {"dining": "dining-200-30", "fashion": "fashion-15"}
    lifecycle = program.lifecycle
    assert (lifecycle.new_days, lifecycle.active_days, lifecycle.dormant_days, lifecycle.lapse_factor) == (30, 90, 180, 2)
    assert lifecycle.care_coupon("dormant") == "winback-30" and lifecycle.care_coupon("active") == ""


@pytest.mark.parametrize("old, new, path, problem", [
    ("mid_spend = 3000", "mid_spend = 30000", "segments.mid_spend", "must be below segments.high_spend"),
    ("dormant_days = 180", "dormant_days = 60", "lifecycle.dormant_days", "must be more than lifecycle.active_days"),
    ('category_coupons = { dining = "dining-200-30"', 'category_coupons = { dining = "nope"',
     "segments.category_coupons.dining", "unknown coupon template 'nope'"),
    ('churned_coupon = "winback-50"', 'churned_coupon = "nope"', "lifecycle.churned_coupon",
     "unknown coupon template 'nope'"),
    ("lapse_factor = 2", "lapse_factor = 0.5", "lifecycle.lapse_factor", "must be a number ≥ 1"),
])
def test_a_mistake_in_segments_or_lifecycle_names_its_key(old, new, path, problem):
    with pytest.raises(ProgramError) as refused:
        parse_program(edited(old, new))
    assert any(p == path and problem in text for p, text in refused.value.problems), refused.value.problems
