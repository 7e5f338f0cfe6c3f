"""Reading till JSON: amounts are exact Decimals wherever they sit in the body, never floats."""
from decimal import Decimal

import pytest

from bot.api import fields
from bot.api.auth import RAW_BODY
from loyalty_core import errors


def body(raw: bytes) -> dict:
    return fields.json_object({RAW_BODY: raw})      # json_object reads only the raw body off the request


def test_a_fractional_number_at_the_top_is_an_exact_decimal():
    assert fields.amount(body(b'{"amount": 12.10}')) == Decimal("12.10")


def test_a_fractional_number_inside_a_list_of_items_is_an_exact_decimal_too():
    data = body(b'{"amount": "30.00", "items": [{"sku": "A1", "price": 12.5, "quantity": 2}]}')
    assert fields.amount(data["items"][0], "price") == Decimal("12.5")


def test_nan_is_refused_inside_a_list_of_items_too():
    data = body(b'{"amount": "30.00", "items": [{"sku": "A1", "price": NaN}]}')
    with pytest.raises(errors.InvalidAmount):
        fields.amount(data["items"][0], "price")


def test_a_body_nested_as_deep_as_orjson_reads_gets_an_answer_or_a_clear_error_not_a_crash():
    deep = b'{"amount": "1.00", "x": ' + b"[" * 1000 + b"1" + b"]" * 1000 + b"}"
    assert fields.amount(body(deep)) == Decimal("1.00")
    with pytest.raises(errors.InvalidRequest):
        body(deep.replace(b"[1]", b"[1.5]"))
