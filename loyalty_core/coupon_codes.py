"""Coupon codes: unguessable, typeable, and self-checking, so a typo is caught before any lookup.

A code is 12 random characters (60 bits from `secrets`) and one check character, from a 32-letter
alphabet without 0/O/1/I. Shown grouped as `K7QH-3WXN-9PZD-R`; accepted in lower case, with spaces
or dashes.

The check character makes the weighted sum of all 13 values ≡ 0 (mod 32), with the odd weights
1, 3, 5, …, 25 (the check character has weight 25). An odd weight is invertible modulo 32, so changing any one
character changes the sum: every single-character substitution is detected. Neighbouring weights
differ by 2, so swapping two adjacent characters is caught too unless they are 16 apart in the
alphabet.
"""
from __future__ import annotations

import secrets

from . import errors

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
RANDOM_LENGTH = 12                          # 12 × 5 bits = 60 bits of entropy
CODE_LENGTH = RANDOM_LENGTH + 1
GROUP = 4
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_WEIGHTS = tuple(2 * i + 1 for i in range(CODE_LENGTH))
_SEPARATORS = str.maketrans("", "", " -_\u3000\t")
_CHECK_INVERSE = pow(_WEIGHTS[RANDOM_LENGTH], -1, len(ALPHABET))
_PAIRS = tuple(a + b for a in ALPHABET for b in ALPHABET)      # ten bits as two characters
_DRAW_BYTES = 8                                                 # 64 bits drawn a code, the top 60 used
# What each pair of the body adds to the weighted sum, by its place: the sum of a new code is six lookups.
_PAIR_SUMS = tuple(tuple(_WEIGHTS[2 * place] * _VALUE[pair[0]] + _WEIGHTS[2 * place + 1] * _VALUE[pair[1]]
                         for pair in _PAIRS) for place in range(RANDOM_LENGTH // 2))


def _weighted_sum(body: str) -> int:
    return sum(w * _VALUE[c] for w, c in zip(_WEIGHTS, body))


def check_character(body: str) -> str:
    """The character that completes the 12-character body to a valid code."""
    return _completing(_weighted_sum(body))


def _completing(body_sum: int) -> str:
    # solve: sum(body) + w_last × v ≡ 0 (mod 32); w_last is odd, so it has an inverse mod 32
    return ALPHABET[(-body_sum * _CHECK_INVERSE) % len(ALPHABET)]


def new_code() -> str:
    return new_codes(1)[0]


def new_codes(count: int) -> list[str]:
    """`count` new codes from a single draw of the system's randomness (a draw is a system call: a batch of
    coupons takes one, not one a code)."""
    drawn = secrets.token_bytes(_DRAW_BYTES * count)
    return [_code_of(int.from_bytes(drawn[i:i + _DRAW_BYTES]) >> 4) for i in range(0, len(drawn), _DRAW_BYTES)]


def _code_of(bits: int) -> str:
    """The code whose body spells the 60 bits, ten at a time."""
    # written out pair by pair: a campaign draws a code for each of a million members
    a, b, c, d, e, f = (bits >> 50) & 1023, (bits >> 40) & 1023, (bits >> 30) & 1023, (bits >> 20) & 1023, \
        (bits >> 10) & 1023, bits & 1023
    sa, sb, sc, sd, se, sf = _PAIR_SUMS
    body_sum = sa[a] + sb[b] + sc[c] + sd[d] + se[e] + sf[f]
    return _PAIRS[a] + _PAIRS[b] + _PAIRS[c] + _PAIRS[d] + _PAIRS[e] + _PAIRS[f] + _completing(body_sum)


def is_valid(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in _VALUE for c in code) and \
        _weighted_sum(code) % len(ALPHABET) == 0


def normalise(raw: str) -> str:
    """The canonical code of what a person typed; raises BadCodeFormat / BadCodeChecksum without any lookup."""
    code = raw.translate(_SEPARATORS).upper() if isinstance(raw, str) else ""
    if len(code) != CODE_LENGTH or any(c not in _VALUE for c in code):
        raise errors.BadCodeFormat()
    if not is_valid(code):
        raise errors.BadCodeChecksum()
    return code


def grouped(code: str) -> str:
    """K7QH-3WXN-9PZD-R: four at a time, easier to read out and type."""
    return "-".join([code[i:i + GROUP] for i in range(0, len(code), GROUP)])
