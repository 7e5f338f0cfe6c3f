"""Mainland China mobile numbers: one canonical form, 11 digits starting 1[3-9]."""
from __future__ import annotations

import re
import unicodedata

from .errors import InvalidPhone

_SEPARATORS = re.compile(r"[\s\-–—_.()（）]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_COUNTRY_PREFIXES = ("+86", "0086", "86")


def normalise_phone(raw: str) -> str:
    """'+86 138-0013-8000', '0086１３８００１３８０００' … -> '13800138000'; anything else raises InvalidPhone."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    for prefix in _COUNTRY_PREFIXES:
        if text.startswith(prefix) and len(text) == len(prefix) + 11:
            text = text[len(prefix):]
            break
    if not _MOBILE.fullmatch(text):
        raise InvalidPhone()
    return text


def mask_phone(phone: str) -> str:
    """For showing a member their own number: 138****8000."""
    return f"{phone[:3]}****{phone[-4:]}"
