"""A push's shape: what it must carry, what each channel's content may hold, and how it is stored."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import orjson
import pytest
from hypothesis import given, strategies as st

from loyalty_core import errors
from loyalty_core.clock import MALL_TZ
from loyalty_core.program import QuietHours
from loyalty_core.push import hours
from loyalty_core.push.model import Content, Notice, Push, Window, push_id_for

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=MALL_TZ)


def test_every_keyword_field_fits_what_wechat_shows():
    Notice("TPL_POINTS_CHANGED", {"thing1": "一" * 20})
    with pytest.raises(errors.InvalidPush, match="at most 20 characters"):
        Notice("TPL_POINTS_CHANGED", {"thing1": "一" * 21})
    with pytest.raises(errors.InvalidPush, match="on one line"):
        Notice("TPL_POINTS_CHANGED", {"thing1": "第一行\n第二行"})
    with pytest.raises(errors.InvalidPush, match="empty"):
        Notice("TPL_POINTS_CHANGED", {"thing1": " "})


def test_a_notice_becomes_the_api_calls_data():
    notice = Notice("TPL_POINTS_CHANGED", {"thing1": "消费积分", "number2": "520"}, url="https://mall.example/p")
    assert notice.data() == {"thing1": {"value": "消费积分"}, "number2": {"value": "520"}}


@pytest.mark.parametrize("content, problem", [
    (dict(), "at least one channel"),
    (dict(custom={"msgtype": "text", "text": {"content": ""}}), "empty"),
    (dict(custom={"msgtype": "video"}), "msgtype"),
    (dict(custom={"msgtype": "text", "text": {"content": "长" * 2001}}), "2000"),
    (dict(mass={"msgtype": "news", "news": {}}), "mass content"),
])
def test_content_that_no_channel_could_send_is_refused(content, problem):
    with pytest.raises(errors.InvalidPush, match=problem):
        Content(**content)


@pytest.mark.parametrize("changes, problem", [
    (dict(kind="promo"), "kind"), (dict(urgency="soon"), "urgency"), (dict(topic=""), "topic"),
    (dict(member_id=""), "member_id"), (dict(not_after=datetime(2026, 1, 16)), "time zone"),
    (dict(push_id="a|b"), "'|'"), (dict(topic="x" * 129), "128"),
])
def test_a_push_missing_what_it_needs_is_refused(changes, problem):
    fields = dict(push_id="", member_id="100001", kind="service", topic="points_earned",
                  not_after=NOW + timedelta(days=1), content=Content.text("积分已到账")) | changes
    with pytest.raises(errors.InvalidPush, match=problem):
        Push(**fields)


def test_the_dedup_key_is_the_topic_unless_given_and_names_the_push():
    push = Push("", "100001", "marketing", "campaign:7", NOW, Content.text("春季上新"))
    assert push.dedup_key == "campaign:7" and push.push_id == push_id_for("campaign:7")
    notice = Push("", "100001", "service", "points_earned", NOW, Content.text("积分"), dedup_key="points_earned:T1")
    assert notice.push_id == push_id_for("points_earned:T1") != push.push_id


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    str.strip)


@given(texts, texts, st.sampled_from(["now", "today", "any"]), st.integers(0, 10**6), st.booleans(),
       st.sampled_from(["none", "same", "other"]))
def test_a_push_survives_its_storage(text, field, urgency, minutes, with_template, mass):
    template = Notice("TPL", {"thing1": field}, url="https://mall.example/x") if with_template else None
    mass_text = {"none": None, "same": text, "other": text + "!"}[mass]
    push = Push("p1", "100001", "service", "points_earned", NOW + timedelta(minutes=minutes),
                Content.text(text, template=template,
                             mass={"msgtype": "text", "text": {"content": mass_text}} if mass_text else None),
                urgency=urgency)
    assert Push.from_dict(orjson.loads(orjson.dumps(push.to_dict()))) == push


def test_a_mass_message_the_same_as_the_custom_one_is_stored_once():
    same = Content.text("春季上新", mass={"msgtype": "text", "text": {"content": "春季上新"}})
    assert same.to_dict() == {"custom": same.custom, "mass": "custom"}
    assert Content.from_dict(same.to_dict()).mass == same.custom
    other = Content.text("春季上新", mass={"msgtype": "text", "text": {"content": "秋季上新"}})
    assert other.to_dict()["mass"] == other.mass


def test_a_window_counts_as_closed_within_the_margin():
    window = Window.opened_by("click", NOW)
    assert (window.limit, window.closes_at) == (3, NOW + timedelta(minutes=1))
    assert window.left(NOW + timedelta(seconds=54), timedelta(seconds=5)) == 3
    assert window.left(NOW + timedelta(seconds=55), timedelta(seconds=5)) == 0


def test_the_calendar_of_caps_and_quiet_hours():
    quiet = QuietHours(time(21, 30), time(9, 0))
    sunday_night = datetime(2026, 1, 18, 23, 0, tzinfo=MALL_TZ)
    assert hours.quiet_hours_end(sunday_night, quiet) == datetime(2026, 1, 19, 9, 0, tzinfo=MALL_TZ)
    assert hours.next_week(sunday_night) == datetime(2026, 1, 19, 0, 0, tzinfo=MALL_TZ)
    assert hours.next_day(sunday_night) == datetime(2026, 1, 19, 0, 0, tzinfo=MALL_TZ)
    assert (hours.day_key(datetime(2026, 1, 31, 15, 59, tzinfo=timezone.utc)),
            hours.month_key(datetime(2026, 1, 31, 16, 0, tzinfo=timezone.utc))) == ("20260131", "202602")  # 00:00 CST
