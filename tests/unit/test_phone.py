import pytest

from loyalty_core.errors import InvalidPhone
from loyalty_core.phone import mask_phone, normalise_phone

VALID = [
    ("13800138000", "13800138000"),
    ("+8613800138000", "13800138000"),
    ("+86 138 0013 8000", "13800138000"),
    ("0086 13800138000", "13800138000"),
    ("008613800138000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("138-0013-8000", "13800138000"),
    ("138 0013 8000", "13800138000"),
    ("  13800138000  ", "13800138000"),
    ("１３８００１３８０００", "13800138000"),          # full-width digits
    ("＋８６ １３８００１３８０００", "13800138000"),     # full-width plus and digits
    ("+86-138-0013-8000", "13800138000"),
    ("(+86) 13800138000", "13800138000"),
    ("138.0013.8000", "13800138000"),
    ("138\u30000013\u30008000", "13800138000"),        # ideographic spaces
    ("19912345678", "19912345678"),
    ("15012345678", "15012345678"),
    ("+86 199–1234–5678", "19912345678"),              # en dashes
]

INVALID = [
    "",
    "   ",
    "1380013800",          # 10 digits
    "138001380001",        # 12 digits
    "12800138000",         # 12x is not a mobile prefix
    "10800138000",
    "23800138000",
    "+85213800138000",     # Hong Kong prefix
    "+1 13800138000",
    "0013800138000",
    "1380013800a",
    "phone 13800138000",
    "+86 +86 13800138000",
    "861380013800",        # 86 + 10 digits
]


@pytest.mark.parametrize("raw, expected", VALID)
def test_valid_forms_normalise_to_eleven_digits(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", INVALID)
def test_invalid_forms_are_rejected(raw):
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_mask_keeps_only_prefix_and_last_four():
    assert mask_phone("13800138000") == "138****8000"
