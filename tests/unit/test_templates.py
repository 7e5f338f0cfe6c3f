"""Every reply template renders with sample data (StrictUndefined turns a missing value into a failure)."""
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace as NS

import pytest

from bot.router import Command
from bot.templating import Templates, money

COMMANDS = [Command("积分", "查看积分"), Command("绑定 手机号", "绑定手机号")]
GOLD = NS(name="金卡", multiplier=Decimal("2"), benefits=("积分加倍", "专属折扣"))
PLATINUM = NS(name="白金卡", multiplier=Decimal("2.5"), benefits=())

# Each template's sample values. A new template without an entry here fails the completeness test.
SAMPLES: dict[str, dict] = {
    "welcome.txt": {"restored": False, "commands": COMMANDS},
    "help.txt": {"commands": COMMANDS},
    "not_understood.txt": {"commands": COMMANDS},
    "error.txt": {"correlation": "a1b2c3d4e5f6"},
    "phone_how.txt": {},
    "verify_how.txt": {},
    "phone_code_sent.txt": {"sent": NS(masked_phone="138****8000", valid_minutes=10)},
    "phone_bound.txt": {"bound": NS(masked_phone="138****8000", replaced=False)},
    "errors/generic.txt": {"message": "the request cannot be carried out"},
    "errors/invalid_phone.txt": {},
    "errors/phone_taken.txt": {},
    "errors/phone_already_bound.txt": {},
    "errors/code_cooldown.txt": {"seconds": 42},
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
        NS(kind="refund", source="", points=-300, balance=0, debt=120, at=datetime(2026, 1, 13, 9, 0))])},
    "tier.txt": {"status": NS(tier=GOLD, spend=Decimal("87700"), next_tier=PLATINUM, to_next=Decimal("12300"),
                              review_on=date(2027, 1, 15), window_months=12)},
    "leaderboard.txt": {"board": NS(year=2026, my_rank=12, my_points=3400, rows=[
        NS(rank=1, name="王**", points=98000, is_me=False), NS(rank=2, name="会员 10**23", points=87000, is_me=False)])},
    "member_code.txt": {"code": NS(grouped="8812 3456 7890 1234 56", valid_minutes=5)},
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
