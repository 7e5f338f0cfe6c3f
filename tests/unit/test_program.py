"""The program file: the packaged default loads; each kind of mistake stops the start with its key path."""
import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty_core.program import (
    SECTIONS, Program, ProgramError, load_program, parse_program, program_from_dict, section,
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
    (edited("member_day = 18", "member_day = 32"), "promotions.member_day: must be a whole number between 0 and 31"),
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


def test_a_section_that_is_not_a_table_is_refused():
    with pytest.raises(ProgramError, match="leaderboard: must be a table"):
        program_from_dict({"tiers": [{"code": "member", "name": "普卡", "threshold": 0, "multiplier": 1}],
                           "leaderboard": 10})


def test_each_registered_section_is_a_field_of_the_program():
    """Adding a section = a parse function registered with @section and a Program field of that name."""
    assert set(SECTIONS) == {field.name for field in dataclasses.fields(Program)}
    with pytest.raises(ValueError, match="registered twice"):
        section("tiers")(lambda raw, path: None)
