"""Staffed hours of the service desk, in the mall's time; what a mark of handled feedback may name."""
from datetime import datetime, time
from importlib import resources

import pytest

from loyalty_core.clock import MALL_TZ
from loyalty_core.program import ProgramError, load_program, parse_program
from loyalty_core.service_desk import FEEDBACK_REF, ServiceRules, staffing

RULES = ServiceRules(opens=time(9, 0), closes=time(21, 0))


@pytest.mark.parametrize("hour, minute, staffed, back", [
    (9, 0, True, None), (20, 59, True, None), (21, 0, False, (2, 10, 9)), (23, 30, False, (2, 10, 9)),
    (0, 30, False, (1, 10, 9)), (8, 59, False, (1, 10, 9))])
def test_staff_are_there_from_opening_until_closing(hour, minute, staffed, back):
    found = staffing(datetime(2026, 3, 1, hour, minute, tzinfo=MALL_TZ), RULES)
    assert found.staffed is staffed
    if back:
        assert found.back_at == datetime(2026, 3, back[0], back[2], 0, tzinfo=MALL_TZ)
        assert found.back_tomorrow is (hour >= 21)


def test_a_moment_in_another_zone_is_read_in_the_malls_time():
    assert staffing(datetime.fromisoformat("2026-03-01T02:00:00+00:00"), RULES).staffed      # 10:00 in Shanghai


def test_the_seed_hours_and_a_closing_before_opening_is_refused():
    assert (load_program().service.opens, load_program().service.closes) == (time(9, 0), time(21, 0))
    with pytest.raises(ProgramError, match="service.opens: must be before closes"):
        parse_program(_packaged().replace('opens = "09:00"\ncloses = "21:00"', 'opens = "21:00"\ncloses = "09:00"'))


def _packaged() -> str:
    return resources.files("loyalty_core").joinpath("program_default.toml").read_text()


@pytest.mark.parametrize(("ref", "names_feedback"), [
    ("suggestion:1736900000000-0", True), ("survey:S01:T-1/2026", True), ("event:wine-0120:100002", True),
    ("suggestion:abc", False), ("event:wine-0120:o_openid", False), ("survey:S 01:T-1", False),
    ("points:100001", False), ("", False)])
def test_a_mark_of_handled_feedback_names_a_suggestion_a_survey_answer_or_an_event_comment(ref, names_feedback):
    assert bool(FEEDBACK_REF.fullmatch(ref)) is names_feedback
