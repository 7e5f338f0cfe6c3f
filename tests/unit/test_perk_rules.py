"""The [birthday] and [referral] sections of the program file, and the replies that depend on them."""
from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest

from bot.templating import Templates
from loyalty_core.birthday import GiftClaim
from loyalty_core.perk_rules import Gift
from loyalty_core.program import ProgramError, load_program, program_from_dict
from loyalty_core.referral import Attribution, ReferralBoard
from tests.unit.perk_samples import OFFERED, PERK_SAMPLES, STATUS

DEFAULT = tomllib.loads(resources.files("loyalty_core").joinpath("program_default.toml").read_text("utf-8"),
                        parse_float=Decimal)
TIERS = ("member", "gold", "platinum", "diamond")
templates = Templates()


def program_with(**sections):
    return program_from_dict({**DEFAULT, **sections})


def test_the_default_program_gives_every_tier_a_birthday_gift_and_the_documented_referral_rules():
    program = load_program()
    gifts = program.birthday
    assert [gifts.gift_for(code, TIERS).kind for code in TIERS] == ["points", "coupon", "voucher", "voucher"]
    assert program.birthday.window.kind == "month"
    rules = program.referral
    assert (rules.referrer_points, rules.referee_points, rules.refund_window.days, rules.monthly_cap) == (500, 200, 7,
                                                                                                        20)
    assert [(level.code, level.min_rewarded, level.multiplier) for level in rules.levels] == \
        [("silver", 5, Decimal("1.5")), ("gold", 20, Decimal(2))]


def test_a_tier_without_a_gift_gets_the_next_lower_tiers():
    program = program_with(birthday={"gifts": {"member": {"kind": "points", "title": "生日积分", "points": 100},
                                               "platinum": {"kind": "voucher", "title": "蛋糕券"}}})
    assert [program.birthday.gift_for(code, TIERS).title for code in TIERS] == ["生日积分", "生日积分", "蛋糕券", "蛋糕券"]
    assert program_with(birthday={}).birthday.gift_for("gold", TIERS) is None


@pytest.mark.parametrize("section, path", [
    ({"window": "week"}, "birthday.window"),
    ({"days_before": 120, "window": "days"}, "birthday.days_before"),
    ({"gifts": {"gold": {"kind": "cake", "title": "蛋糕"}}}, "birthday.gifts.gold.kind"),
    ({"gifts": {"gold": {"kind": "points", "title": "积分"}}}, "birthday.gifts.gold.points"),
    ({"gifts": {"gold": {"kind": "coupon", "title": "券"}}}, "birthday.gifts.gold.template"),
    ({"gifts": {"gold": {"kind": "points", "title": "积分", "points": 10, "colour": "red"}}},
     "birthday.gifts.gold.colour"),
    ({"confirm_minute": 5}, "birthday.confirm_minute"),
])
def test_birthday_mistakes_name_their_key(section, path):
    with pytest.raises(ProgramError) as refused:
        program_with(birthday=section)
    assert refused.value.path == path


@pytest.mark.parametrize("section, path", [
    ({"monthly_cap": 0}, "referral.monthly_cap"),
    ({"qr_days": 31}, "referral.qr_days"),
    ({"require_phone": "yes"}, "referral.require_phone"),
    ({"levels": [{"code": "silver", "name": "银", "min_rewarded": 5, "multiplier": 0.5}]},
     "referral.levels[0].multiplier"),
    ({"levels": [{"code": "a", "name": "A", "min_rewarded": 5, "multiplier": 1},
                 {"code": "a", "name": "B", "min_rewarded": 9, "multiplier": 2}]}, "referral.levels[1].code"),
])
def test_referral_mistakes_name_their_key(section, path):
    with pytest.raises(ProgramError) as refused:
        program_with(referral=section)
    assert refused.value.path == path


@pytest.mark.parametrize("sections, message", [
    ({"birthday": {"gifts": {"vip": {"kind": "points", "title": "积分", "points": 5}}}},
     "birthday.gifts.vip: unknown tier 'vip'"),
    ({"birthday": {"gifts": {"gold": {"kind": "coupon", "title": "券", "template": "x"}}}},
     "birthday.gifts.gold.template: unknown coupon template 'x'"),
    ({"referral": {"referee_coupon": "nope"}}, "referral.referee_coupon: unknown coupon template 'nope'"),
    ({"referral": {"referrer_coupon": "nope"}}, "referral.referrer_coupon: unknown coupon template 'nope'"),
])
def test_gifts_and_rewards_must_name_known_tiers_and_coupon_templates(sections, message):
    with pytest.raises(ProgramError) as refused:
        program_with(**sections)
    assert str(refused.value) == message


def test_referrer_levels_by_rewarded_referrals():
    rules = load_program().referral
    assert [getattr(rules.level_for(n), "code", None) for n in (0, 4, 5, 19, 20, 99)] == \
        [None, None, "silver", "silver", "gold", "gold"]
    assert [getattr(rules.next_level(n), "code", None) for n in (0, 5, 20)] == ["silver", "gold", None]


# -- reply variants ------------------------------------------------------------------------------------------
def render(name: str, **values) -> str:
    return templates.render(name, **{**PERK_SAMPLES[name], **values})


def test_birthday_replies_without_a_birthday_and_outside_the_window():
    assert "还没有设置生日" in render("birthday.txt", status=None)
    outside = render("birthday.txt", status=STATUS.__class__(**{**STATUS.__dict__, "in_window": False}))
    assert "下一个生日：2026年6月10日" in outside and "2026年6月1日 起可领取" in outside


@pytest.mark.parametrize("gift, extra, shown", [
    (Gift("points", "生日积分 200 分", points=200), {}, "200 积分已存入"),
    (Gift("voucher", "生日蛋糕兑换券"), {"voucher_code": "AB2CD-EF3GH", "valid_until": date(2026, 7, 3)},
     "兑换码：AB2CD-EF3GH"),
    (Gift("coupon", "金卡生日券", template="birthday-gold"),
     {"coupon": type("C", (), {"grouped": "K7QH-3WXN-9PZD-R", "last_day": date(2026, 7, 2)})()}, "券码：K7QH-3WXN-9PZD-R"),
])
def test_the_gift_reply_for_each_kind(gift, extra, shown):
    assert shown in render("birthday_gift.txt", claim=GiftClaim(gift, 2026, OFFERED, replayed=False, **extra))
    assert "已于 2026年6月3日 领取" in render("birthday_gift.txt", claim=GiftClaim(gift, 2026, OFFERED, True, **extra))


@pytest.mark.parametrize("reason", ["format", "no_such_date", "future", "too_early"])
@pytest.mark.parametrize("lunar", [False, True])
def test_every_invalid_birthday_reason_has_words(reason, lunar):
    text = templates.render("errors/invalid_birthday.txt", reason=reason, lunar=lunar)
    assert "生日没有保存" in text and len(text.splitlines()) == 2


@pytest.mark.parametrize("attribution, shown", [
    (Attribution(True, "", "100023", "王**"), "由好友 王** 邀请"),
    (Attribution(False, "self_referral", "100023"), "您自己的推荐二维码"),
    (Attribution(False, "already_follower", "100023"), "已经是会员"),
    (Attribution(False, "returning_follower", "100023"), ""),
    (Attribution(False, "unknown_referrer", "999999"), ""),
])
def test_an_arrival_by_referral_says_only_what_the_member_should_know(attribution, shown):
    text = templates.render("referral_arrival.txt", attribution=attribution)
    assert (shown in text) if shown else text == ""


def test_the_referral_reply_shows_the_count_the_monthly_cap_is_measured_on_and_says_what_it_is():
    text = render("referral.txt")
    assert "本月奖励名额已用 2 人，每月最多 20 人（按好友首次消费的月份计，含待发放）" in text
    assert "本月推荐榜排名第 3 名" in text and "本月已奖励" not in text


def test_an_empty_referral_board():
    text = render("referral_board.txt", board=ReferralBoard("202601", (), None, 0))
    assert "2026年1月推荐排行榜" in text and "还没有人" in text and "还没有推荐成功" in text
