"""The log scan can fail: a planted phone, birthday or openid in a log record of the test process, or in a child
process's output, is caught (and taken out again here, so that only these tests know of it); ordinary lines pass."""
from __future__ import annotations

import logging

import pytest

from tests import log_scan
from tests.e2e.processes import Process, base_env

PLANTED = [
    ("phone", "bound phone 13812345678 for member 100001"),
    ("phone", "SMS to 138 1234 5678 failed"),
    ("birthday", "birthday set: 1990-05-20 (solar)"),
    ("birthday", "生日 1988年10月3日"),
    ("openid", "follow from oyORnuP8q7ou2gfYjqLzSIWZf0rs"),
    ("openid", "unknown member o_ann"),
]
CLEAN = [
    "purchase T00000012 booked: member=100001 points=199 balance=1479",
    "member code 881234567890123456 used at 1764700000123",
    "job points-expiry for 2026-12-02 done in 0.2 s; next 2027-01-15",
    "phone_hash=5f2a9c0d13812345678abc outbox_events_relayed_to_the_stream",
    "handler failed: correlation=a1b2c3d4e5f6 type=text event= member=100002",
    "A purchase at a till:     python -m bot till --openid o_demo_li --amount 199",     # the demo's fictional member
]


@pytest.mark.parametrize("kind, line", PLANTED)
def test_a_planted_line_is_caught(kind, line):
    assert kind in log_scan.personal_data_in(line)


@pytest.mark.parametrize("line", CLEAN)
def test_ordinary_lines_pass(line):
    assert log_scan.personal_data_in(line) == []


def test_a_record_of_the_test_process_that_shows_a_phone_is_caught():
    logging.getLogger("bot.handlers").info("member bound %s", "13812345678")
    logging.getLogger("bot.dispatch").info("reply sent: member=%s", "100001")
    found = log_scan.CATCHER.take()
    assert len(found) == 1 and "13812345678" in found[0] and "bot.handlers" in found[0]


def test_a_child_processs_output_with_an_openid_or_birthday_is_caught():
    child = Process(["-c", "print('welcome o_planted_openid'); print('birthday 1991-02-03'); print('all fine')"],
                    base_env())
    child.proc.wait(30)
    child.stop()
    found = log_scan.CHILDREN.take()
    assert [line.split("] ")[0] for line in found] == ["[openid", "[birthday"]
