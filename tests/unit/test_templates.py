"""Every reply template renders with sample data (StrictUndefined turns a missing value into a failure)."""
from types import SimpleNamespace as NS

import pytest

from bot.router import Command
from bot.templating import Templates, money

COMMANDS = [Command("积分", "查看积分"), Command("绑定 手机号", "绑定手机号")]

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
