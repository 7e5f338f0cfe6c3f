"""Every reply template renders with sample data (StrictUndefined turns a missing value into a failure)."""
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace as NS

import pytest

from bot.router import Command
from bot.privacy_page import render_privacy
from bot.templating import Templates, money
from loyalty_core.tiers import TierBenefits
from loyalty_core.welcome import WelcomeGift
from bot.console.render import ENVIRONMENT as CONSOLE_ENVIRONMENT
from tests.unit.community_samples import COMMUNITY_SAMPLES
from tests.unit.console_samples import CONSOLE_SAMPLES
from tests.unit.console_samples import SESSION as CONSOLE_SESSION
from tests.unit.perk_samples import PERK_SAMPLES

COMMANDS = [Command("积分", "查看积分", featured=True), Command("绑定 手机号", "绑定手机号")]
WELCOME_COUPON = NS(template=NS(title="新会员立减券"), terms="立减20元，满100可用，至7月1日")
GOLD = NS(name="金卡", multiplier=Decimal("2"), benefits=("积分加倍", "专属折扣"))
PLATINUM = NS(name="白金卡", multiplier=Decimal("2.5"), benefits=())

# Each template's sample values. A new template without an entry here fails the completeness test.
SAMPLES: dict[str, dict] = {
    "welcome.txt": {"restored": False, "commands": COMMANDS, "gift": WelcomeGift(WELCOME_COUPON, points=100)},
    "help.txt": {"commands": COMMANDS},
    "not_understood.txt": {"commands": COMMANDS},
    "error.txt": {"correlation": "a1b2c3d4e5f6"},
    "busy.txt": {},
    "phone_how.txt": {},
    "verify_how.txt": {},
    "phone_code_sent.txt": {"sent": NS(masked_phone="138****8000", valid_minutes=10)},
    "phone_bound.txt": {"bound": NS(masked_phone="138****8000", replaced=False, linked=True)},
    "errors/generic.txt": {},
    "errors/invalid_phone.txt": {},
    "errors/phone_taken.txt": {},
    "errors/phone_already_bound.txt": {},
    "errors/code_cooldown.txt": {"seconds": 42},
    "errors/phone_daily_limit.txt": {},
    "errors/no_pending_code.txt": {},
    "errors/code_expired.txt": {},
    "errors/wrong_code.txt": {"tries_left": 3},
    "errors/too_many_tries.txt": {},
    "errors/not_a_member.txt": {},
    "errors/unknown_member.txt": {},
    "errors/insufficient_points.txt": {"available": 120},
    "points.txt": {"summary": NS(balance=1280, debt=0, expiring_points=300, expiring_on=date(2026, 2, 1),
                                 warning_days=30)},
    "points_history.txt": {"page": NS(page=1, has_more=True, entries=[
        NS(kind="purchase", source="", points=200, balance=1280, debt=0, at=datetime(2026, 1, 15, 10, 0)),
        NS(kind="grant", source="tier_upgrade", points=500, balance=1080, debt=0, at=datetime(2026, 1, 14, 9, 0)),
        NS(kind="refund", source="", points=-300, balance=0, debt=120, at=datetime(2026, 1, 13, 9, 0)),
        NS(kind="spend", source="till", points=-500, balance=1580, debt=0, at=datetime(2026, 1, 12, 9, 0))])},
    "tier.txt": {"status": NS(tier=GOLD, spend=Decimal("87700"), next_tier=PLATINUM, to_next=Decimal("12300"),
                              review_on=date(2027, 1, 15), window_months=12,
                              benefits=TierBenefits(new=("积分加倍", "专属折扣"), kept=("入会礼券",)),
                              next_benefits=("2.5 倍积分", "免费停车"))},
    "leaderboard.txt": {"board": NS(year=2026, my_rank=12, my_points=3400, rows=[
        NS(rank=1, name="王**", points=98000, is_me=False), NS(rank=2, name="会员 10**23", points=87000, is_me=False)])},
    "member_code.txt": {"code": NS(grouped="8812 3456 7890 1234 56", valid_minutes=5)},
    # coupons, catalogue, redemption, 确认/取消
    "redeem_list.txt": {"page": NS(balance=1200, page=1, pages=2, has_more=True, lines=[
        NS(number=1, item=NS(title="满200减30 餐饮券", points=500, member_day_only=False), affordable=True, left=8,
           sold_out=False),
        NS(number=2, item=NS(title="星巴克中杯兑换券", points=1800, member_day_only=False), affordable=False, left=None,
           sold_out=False),
        NS(number=3, item=NS(title="奶茶买一送一", points=300, member_day_only=True), affordable=True, left=None,
           sold_out=False),
        NS(number=4, item=NS(title="品牌帆布袋", points=900, member_day_only=False), affordable=True, left=0,
           sold_out=True)])},
    "redeem_offer.txt": {"offer": NS(item=NS(title="星巴克中杯兑换券", points=800, description="门店现做"),
                                     balance=1200, balance_after=400, valid_minutes=2)},
    "redeemed.txt": {"redemption": NS(points=500, balance=700, item=NS(kind="coupon"),
                                      outcome=NS(kind="coupon", title="满200减30 餐饮券", grouped_code="K7QH-3WXN-9PZD-R"))},
    "wallet.txt": {"coupons": [NS(template=NS(title="满200减30 餐饮券"), terms="满200减30，餐饮可用，至12月31日",
                                  grouped="K7QH-3WXN-9PZD-R")]},
    "coupon.txt": {"coupon": NS(template=NS(title="满200减30 餐饮券"), terms="满200减30，餐饮可用，至12月31日",
                                grouped="K7QH-3WXN-9PZD-R", status="issued", starts_at=None,
                                expires_at=datetime(2026, 12, 31, 23, 0)), "now": datetime(2026, 1, 15, 10, 0)},
    "choice_cancelled.txt": {"choice": NS(summary="兑换「星巴克中杯兑换券」")},
    "errors/sold_out.txt": {"title": "星巴克中杯兑换券"},
    "errors/item_limit_reached.txt": {"title": "星巴克中杯兑换券"},
    "errors/not_on_sale.txt": {"title": "金卡专享 满500减80"},
    "errors/not_member_day.txt": {"next_day": "12月18日"},
    "errors/lottery_closed.txt": {"next_day": "12月18日"},
    # the member day's lottery, the monthly statement turned off and on
    "member_day_draw.txt": {"draw": NS(first=True, prize=NS(title="会员日 满100减20 券"), title="会员日 满100减20 券",
                                       coupon=NS(grouped="K7QH-3WXN-9PZD-R", terms="满100减20，至1月31日"))},
    "statement_off.txt": {"changed": True},
    "statement_on.txt": {"changed": True},
    "errors/tier_too_low.txt": {"tier": "金卡"},
    "errors/no_such_listing.txt": {"count": 6},
    "errors/nothing_to_confirm.txt": {},
    "errors/choice_lapsed.txt": {"summary": "兑换「星巴克中杯兑换券」"},
    "errors/choice_confirmed.txt": {"summary": "兑换「星巴克中杯兑换券」", "done": False},
    "errors/redemption_lapsed.txt": {},
    "errors/price_changed.txt": {"title": "星巴克中杯兑换券", "points": 900},
    "errors/bad_code_format.txt": {},
    "errors/bad_code_checksum.txt": {},
    "errors/unknown_coupon.txt": {},
    "errors/issue_limit_reached.txt": {},
    "errors/coupon_limit_reached.txt": {},
    "errors/template_closed.txt": {},
    "errors/unknown_item.txt": {},
    **PERK_SAMPLES,                     # birthday, referrals
    # a walk-in receipt's join code
    "walk_in_joined.txt": {"joined": NS(amount=Decimal("199.00"), points_earned=199, balance=1479, replayed=False)},
    "walk_in_refused.txt": {"reason": "already_joined", "join_days": 7},
    **COMMUNITY_SAMPLES,                # communities, events, broadcasts, service
    # the privacy notice, consent and the member's data rights
    "errors/privacy_consent_needed.txt": {"version": "2026-12"},
    "privacy_agreed.txt": {"first": True},
    "my_data.txt": {},
}

templates = Templates()


def test_every_template_has_sample_data():
    assert sorted(SAMPLES) == templates.names()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_template_renders(name):
    text = templates.render(name, **SAMPLES[name])
    assert text and "{{" not in text and "{%" not in text


def test_a_missing_value_is_an_error():
    with pytest.raises(Exception, match="undefined"):
        templates.render("phone_code_sent.txt")


@pytest.mark.parametrize("value, shown", [(12300, "12,300"), ("12300.50", "12,300.50"), ("0", "0")])
def test_money_filter(value, shown):
    assert money(value) == shown


def test_the_welcome_lists_only_featured_commands_and_help_lists_all():
    welcome = templates.render("welcome.txt", restored=False, gift=None, commands=COMMANDS)
    assert "积分 — 查看积分" in welcome and "绑定 手机号" not in welcome
    assert "绑定 手机号" in templates.render("help.txt", commands=COMMANDS)


@pytest.mark.parametrize("gift, lines", [
    (WelcomeGift(WELCOME_COUPON, 100), ["新会员礼已送到您的账户：", "· 新会员立减券：立减20元，满100可用，至7月1日",
                                        "· 100 积分", "发送「我的券」查看，发送「积分」查看余额。"]),
    (WelcomeGift(WELCOME_COUPON), ["新会员礼已送到您的账户：", "· 新会员立减券：立减20元，满100可用，至7月1日",
                                   "发送「我的券」查看。"]),
    (WelcomeGift(points=100), ["新会员礼已送到您的账户：", "· 100 积分", "发送「积分」查看余额。"]),
])
def test_the_welcome_says_what_the_new_member_was_given_and_where_to_see_it(gift, lines):
    welcome = templates.render("welcome.txt", restored=False, gift=gift, commands=COMMANDS).splitlines()
    start = welcome.index(lines[0])
    assert welcome[start:start + len(lines)] == lines


@pytest.mark.parametrize("gift", [None, WelcomeGift()])
def test_a_welcome_without_a_gift_promises_none(gift):
    welcome = templates.render("welcome.txt", restored=False, gift=gift, commands=COMMANDS)
    assert "新会员礼" not in welcome and "我的券" not in welcome and welcome.startswith("欢迎加入会员中心")


def test_replies_to_members_are_in_chinese_without_english_error_texts():
    generic = templates.render("errors/generic.txt")
    assert "抱歉" in generic and not any("a" <= c.lower() <= "z" for c in generic)
    tier = templates.render("tier.txt", **SAMPLES["tier.txt"])
    assert "还差 12,300 元升级白金卡" in tier and "CNY" not in tier


def test_the_tier_reply_marks_the_tiers_new_benefits_and_says_what_the_next_adds():
    tier = templates.render("tier.txt", **SAMPLES["tier.txt"])
    assert "金卡权益（★ 为金卡新增）：\n★ 积分加倍\n★ 专属折扣\n· 入会礼券" in tier
    assert "升级后新增：2.5 倍积分、免费停车" in tier
    base = SAMPLES["tier.txt"]["status"].__dict__ | {"benefits": TierBenefits(new=("消费积分", "入会礼券"), kept=())}
    plain = templates.render("tier.txt", status=NS(**base))
    assert "金卡权益：\n· 消费积分\n· 入会礼券" in plain and "★" not in plain


def test_the_notices_before_a_binding_link_the_privacy_page_and_say_how_to_agree():
    shown = Templates(privacy_url="https://mall.example/privacy")
    notice = shown.render("errors/privacy_consent_needed.txt", version="2026-12")
    assert "https://mall.example/privacy" in notice and "同意" in notice and "我的数据" in notice
    for name in ("welcome.txt", "phone_how.txt", "my_data.txt"):
        assert "https://mall.example/privacy" in shown.render(name, **SAMPLES[name])


def test_the_privacy_page_renders_what_is_kept_why_and_the_rights():
    page = render_privacy("2026-12")
    assert "2026-12" in page and "{{" not in page
    for words in ("我们保存什么", "为什么保存", "获取副本", "删除", "同意"):
        assert words in page


@pytest.mark.parametrize("name", sorted(CONSOLE_SAMPLES))
def test_console_page_renders(name):
    html = CONSOLE_ENVIRONMENT.get_template(name).render(session=CONSOLE_SESSION, csrf="csrf-token", current="",
                                                          nav=[("/console/communities", "社群 Communities", "")],
                                                          notice="", **CONSOLE_SAMPLES[name])
    assert "</html>" in html and "{{" not in html.replace("{{ member.name }}", "")
