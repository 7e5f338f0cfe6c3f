"""Coupon codes: 60 random bits in a typeable alphabet, and a check character that catches every typo
of one character before any lookup."""
import math
import secrets

import pytest

from loyalty_core import coupon_codes, errors
from loyalty_core.coupon_codes import (ALPHABET, CODE_LENGTH, RANDOM_LENGTH, check_character, grouped, is_valid,
                                        new_code, new_codes)


def test_the_alphabet_has_32_unambiguous_characters():
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("01IO") & set(ALPHABET)


def test_a_code_has_at_least_60_random_bits_and_a_check_character():
    assert RANDOM_LENGTH * math.log2(len(ALPHABET)) >= 60
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000                                          # no repeats
    assert all(len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) and is_valid(code) for code in codes)
    seen_per_position = [{code[i] for code in codes} for i in range(RANDOM_LENGTH)]
    assert all(len(chars) == 32 for chars in seen_per_position)       # every position uses the whole alphabet


def test_a_batch_of_codes_drawn_at_once_is_as_random_as_codes_drawn_one_by_one():
    codes = new_codes(2000)
    assert len(set(codes)) == 2000 and not set(codes) & set(new_codes(2000))
    assert all(len(code) == CODE_LENGTH and is_valid(code) for code in codes)
    for position in range(RANDOM_LENGTH):
        counts = [sum(code[position] == char for code in codes) for char in ALPHABET]
        assert min(counts) > 30 and max(counts) < 100, (position, counts)    # 62.5 expected; far outside 6 sigma
    assert new_codes(0) == []


# Fresh codes are drawn inside the test, so that every test process collects the same test ids.
@pytest.mark.parametrize("code", [f"fresh-{i}" for i in range(25)] + ["2222222222222", "ZZZZZZZZZZZZ" + check_character("Z" * 12)])
def test_every_single_character_substitution_is_detected(code):
    if code.startswith("fresh-"):
        code = new_code()
    assert is_valid(code)
    for position in range(CODE_LENGTH):
        for char in ALPHABET:
            if char != code[position]:
                typo = code[:position] + char + code[position + 1:]
                assert not is_valid(typo), (code, typo)
                with pytest.raises(errors.BadCodeChecksum):
                    coupon_codes.normalise(typo)


def valid_code_with(position: int, pair: str) -> str:
    """A valid code holding `pair` at `position` and the next one (the second may be the check character)."""
    body = list("K7QH3WXN9PZD")
    body[position:position + 2] = pair
    for first in ALPHABET:              # the first character (weight 1) steers the check character
        body[0] = first if position > 0 else body[0]
        code = "".join(body[:RANDOM_LENGTH]) + check_character("".join(body[:RANDOM_LENGTH]))
        if code[position:position + 2] == pair:
            return code
    raise AssertionError(pair)


def test_adjacent_swaps_are_detected_unless_the_characters_are_16_apart():
    missed = 0
    for i in range(CODE_LENGTH - 1):
        for a in ALPHABET:
            for b in ALPHABET:
                code = valid_code_with(i, a + b)
                swapped = code[:i] + b + a + code[i + 2:]
                assert is_valid(swapped) == (abs(ALPHABET.index(a) - ALPHABET.index(b)) in (0, 16)), (code, i)
                missed += a != b and is_valid(swapped)
    assert missed == 12 * 32                   # the only swaps the check character misses: 1 in 31


def test_grouped_display_and_forgiving_input():
    code = new_code()
    shown = grouped(code)
    assert shown == f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12]}"
    for typed in (shown, shown.lower(), " ".join(shown.split("-")), f"  {code.lower()} ", shown.replace("-", " - ")):
        assert coupon_codes.normalise(typed) == code


@pytest.mark.parametrize("typed", ["", "K7QH-3WXN-9PZD", "K7QH-3WXN-9PZD-RR", "O7QH-3WXN-9PZD-R", "K1QH3WXN9PZDR",
                                   None, "码码码码码码码码码码码码码"])
def test_a_code_of_the_wrong_shape_is_refused_as_such(typed):
    with pytest.raises(errors.BadCodeFormat):
        coupon_codes.normalise(typed)


def test_codes_come_from_the_secrets_module(monkeypatch):
    drawn = []
    monkeypatch.setattr(secrets, "token_bytes", lambda size: drawn.append(size) or bytes(size))
    assert new_code().startswith("2" * RANDOM_LENGTH) and drawn == [8]
    assert new_codes(3) == ["2" * RANDOM_LENGTH + check_character("2" * RANDOM_LENGTH)] * 3 and drawn == [8, 24]
