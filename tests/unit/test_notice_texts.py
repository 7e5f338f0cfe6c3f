"""The packaged notices render with the values their producers give, every keyword field fits what WeChat
shows, marketing never goes as a template, and a text that does not compile stops the start."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from bot.notices import check_notice_texts, fit, words
from bot.notices import Notices
from loyalty_core.clock import MALL_TZ
from loyalty_core.notices import NOTICE_KINDS
from loyalty_core.program import ProgramError, load_program, program_from_dict
from loyalty_core.push.model import NOTICE_FIELD_MAX_CHARS

PROGRAM = load_program()
AT = datetime(2026, 6, 3, 10, 30, tzinfo=MALL_TZ)
LONG_TITLE = "金卡专享 满500减80 全场通用（节假日除外，限本人使用）"
# What each producer gives (bot/notices.py's NoticeEvents, the scheduler's jobs, the referral rewards).
SAMPLES = {
    "points_earned": {"points": 398, "balance": 12_345, "amount": Decimal("199.00")},
    "points_reversed": {"points": 20, "balance": 0, "debt": 15},
    "points_spent": {"points": 1200, "cash_value": Decimal("12.00"), "balance": 34_567},
    "points_restored": {"points": 1200, "balance": 35_767},
    "tier_upgraded": {"tier": "金卡", "from_tier": "普卡", "reward_points": 500},
    "tier_reviewed": {"tier": "普卡", "from_tier": "金卡", "kept": False},
    "tier_reverted": {"tier": "普卡", "from_tier": "金卡", "reward_points_taken": 500},
    "points_expiring": {"points": 1200, "balance": 3000, "expires_on": date(2026, 7, 1), "days": 30},
    "coupon_expiring": {"title": LONG_TITLE, "expires_on": date(2026, 6, 6), "count": 2},
    "birthday_greeting": {"gift": "生日蛋糕兑换券", "gift_kind": "voucher"},
    "referral_reward": {"friend": "王**", "points": 500, "balance": 900},
    "anniversary": {"years": 3},
    "holiday": {"holiday": "中秋节"},
    **{kind: {"title": "春季品酒会暨新品发布会（会员专享）", "starts_at": AT, "place": "三楼中庭", "notes": "请着正装",
              "number": 3} for kind in ("event_promoted", "event_feedback")},
    "purchase_survey": {"store": "S01"},
    "event_invitation": {"title": "春季品酒会暨新品发布会（会员专享）", "starts_at": AT, "place": "三楼中庭",
                         "notes": "请着正装", "number": 3, "places_left": 12, "capacity": 50},
    "event_reminder": {"title": "春季品酒会", "starts_at": AT, "place": "三楼中庭", "notes": "请着正装", "number": 3,
                       "hours": 24},
    "lifecycle_dormant": {"coupon": "想念您 满150减30", "stage": "dormant"},
    "lifecycle_churned": {"coupon": "", "stage": "churned"},
    "lifecycle_lapsing": {"coupon": "满200减30 餐饮券", "stage": "lapsing"},
}


def notices() -> Notices:
    return Notices(PROGRAM, pushes=None, members=None, clock=None)


def test_every_kind_has_samples_and_the_packaged_program_configures_every_kind():
    assert set(SAMPLES) == set(NOTICE_KINDS) == set(PROGRAM.notices)


@pytest.mark.parametrize("kind", sorted(NOTICE_KINDS))
def test_each_packaged_notice_renders_and_its_fields_fit(kind):
    table = PROGRAM.notices[kind]
    content = notices().content(table, {"at": AT, "name": "小王"} | SAMPLES[kind])
    text = content.custom["text"]["content"]
    assert text and "{{" not in text and "None" not in text
    for notice in (content.template, content.subscribe):
        if notice is not None:
            assert all(len(value) <= NOTICE_FIELD_MAX_CHARS and "\n" not in value for value in notice.fields.values())
    if table.kind == "marketing":
        assert content.template is None


def test_a_long_value_is_cut_to_what_wechat_shows():
    content = notices().content(PROGRAM.notices["coupon_expiring"], {"at": AT, "name": "小王"}
                                | SAMPLES["coupon_expiring"])
    assert content.template.fields["thing1"] == LONG_TITLE[:19] + "…"
    assert content.template.fields["time2"] == "2026年6月6日"
    assert "共 2 张券同日到期" in content.custom["text"]["content"]
    assert fit("一\n二  三") == "一 二 三" and fit("   ") == "—"


def test_values_read_as_a_member_reads_them():
    assert words({"at": AT, "day": date(2026, 1, 2), "amount": Decimal("12300.50"), "n": 3}) == {
        "at": "2026年6月3日 10:30", "day": "2026年1月2日", "amount": "12,300.50", "n": 3}


def test_a_notice_text_that_does_not_compile_stops_the_start():
    program = program_from_dict({"tiers": [{"code": "member", "name": "普卡", "threshold": 0, "multiplier": 1}],
                                 "notices": {"holiday": {"text": "{{ name }，节日快乐", "kind": "marketing"}}})
    with pytest.raises(ProgramError, match=r"notices.holiday.text: not a valid template"):
        check_notice_texts(program)


def test_a_notice_table_is_checked_with_the_program():
    with pytest.raises(ProgramError, match="notices.holiday.mass: only marketing notices go as mass sends"):
        program_from_dict({"tiers": [{"code": "member", "name": "普卡", "threshold": 0, "multiplier": 1}],
                           "notices": {"holiday": {"text": "节日快乐", "mass": True}}})
