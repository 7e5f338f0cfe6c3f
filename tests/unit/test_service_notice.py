"""How the sandbox shows a template or subscribe message: WeChat's service-notice card since 2023-05-04."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wechat_sandbox.notices import FIELD_CHARS, service_notice, shown_value

LABELS = {"thing1": "变动原因", "number2": "变动积分"}
EMOJI = ["🎂", "👇", "❤️", "⭐", "👨‍👩‍👧", "🇨🇳", "1️⃣", "☀"]


def test_the_card_keeps_the_title_and_the_keywords_and_drops_first_and_remark():
    data = {"first": {"value": "您好，您的积分有变动"}, "thing1": {"value": "消费", "color": "#FF0000"},
            "number2": {"value": "+128"}, "time4": {"value": "2026-01-18 10:00"}, "remark": {"value": "点击查看"}}

    notice = service_notice("积分变动提醒", data, LABELS, linked=True)

    assert notice == {"title": "积分变动提醒", "details": True, "fields": [
        {"label": "变动原因", "value": "消费"}, {"label": "变动积分", "value": "+128"},
        {"label": "time4", "value": "2026-01-18 10:00"}]}


def test_a_long_value_shows_its_first_20_characters_on_one_line_without_emoji():
    assert shown_value({"value": "生日快乐🎂！\n本月到店可领取生日礼一份，凭会员码到服务台"}) == \
        "生日快乐！ 本月到店可领取生日礼一份，凭…"
    assert shown_value({"value": "x" * FIELD_CHARS}) == "x" * FIELD_CHARS
    assert shown_value({"value": 1280}) == "1280" and shown_value({}) == ""


def test_no_link_no_details():
    assert service_notice("生日礼遇提醒", {"thing1": {"value": "蛋糕券"}}, {}, linked=False)["details"] is False


@given(st.lists(st.one_of(st.text(), st.sampled_from(EMOJI), st.sampled_from(["\n", "\r\n", " "]))).map("".join))
def test_a_shown_value_is_one_line_of_at_most_20_characters_and_no_emoji(text):
    shown = shown_value({"value": text})

    assert "\n" not in shown and "\r" not in shown
    assert len(shown) <= FIELD_CHARS or (len(shown) == FIELD_CHARS + 1 and shown.endswith("…"))
    assert not any(emoji in shown for emoji in ("🎂", "👇", "⭐", "🇨", "\u200d", "\ufe0f"))
