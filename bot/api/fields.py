"""Reading a till's JSON body into typed values; each mistake is a 422 naming the field."""
from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Sequence

import orjson
from aiohttp import web

from loyalty_core import errors
from loyalty_core.clock import MALL_TZ
from loyalty_core.members import MEMBER_KINDS, MemberKind, MemberRef, exactly_one_of
from loyalty_core.points import check_amount

from .auth import RAW_BODY

_AMOUNT_TEXT = re.compile(r"\d{1,12}(\.\d{1,2})?")
MAX_TEXT = 64


def json_object(request: web.Request) -> dict:
    """The body as a JSON object. Numbers with a fraction become Decimal, never float: orjson reads the
    usual body (amounts as text); one with a fractional number, NaN or Infinity is read again exactly."""
    raw = request[RAW_BODY]
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = _exact(raw)
    else:
        if _holds_float(data):
            data = _exact(raw)
    if not isinstance(data, dict):
        raise errors.InvalidRequest("the body must be a JSON object")
    return data


def _holds_float(data: Any) -> bool:
    """Anywhere in the body, e.g. items[].price of a redeem, not only at the top. Without recursion: orjson
    reads bodies nested deeper than Python's recursion limit."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, float):
            return True
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _exact(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise errors.InvalidRequest("the body is not valid JSON") from None


def text(data: dict, key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidRequest(f"{key} is required (non-empty text)" if value is None
                                    else f"{key} must be non-empty text")
    if len(value) > MAX_TEXT:
        raise errors.InvalidRequest(f"{key} must be at most {MAX_TEXT} characters")
    return value.strip()


def amount(data: dict, key: str = "amount") -> Decimal:
    """A CNY amount as "1234.50" or a JSON number; bools, NaN, Infinity and exponents are refused."""
    value: Any = data.get(key)
    if value is None:
        raise errors.InvalidRequest(f"{key} is required")
    if isinstance(value, str):
        if not _AMOUNT_TEXT.fullmatch(value.strip()):
            raise errors.InvalidAmount(f"{key} must look like 1234.50 (at most 2 decimals)")
        return Decimal(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise errors.InvalidAmount(f"{key} must be a string or a number")
    number = Decimal(value)
    if not number.is_finite():
        raise errors.InvalidAmount(f"{key} must be a finite number")
    return number


def moment(data: dict, key: str) -> datetime:
    """ISO 8601; without an offset it is the mall's local time."""
    value = data.get(key)
    if value is None:
        raise errors.InvalidRequest(f"{key} is required")
    if not isinstance(value, str):
        raise errors.InvalidTime(f"{key} must be an ISO 8601 time, e.g. 2026-01-15T10:00:00+08:00")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise errors.InvalidTime(f"{key} must be an ISO 8601 time, e.g. 2026-01-15T10:00:00+08:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=MALL_TZ)


def member_ref(data: dict, accepts: Sequence[MemberKind], key: str = "member") -> MemberRef:
    """{"openid": …} or another of the kinds the endpoint accepts (loyalty_core.members.MemberResolver)."""
    value = data.get(key)
    if not isinstance(value, dict):
        raise errors.InvalidRequest(f"{key} is required: an object with one of {', '.join(accepts)}")
    given = [kind for kind in MEMBER_KINDS if value.get(kind) not in (None, "")]
    if len(given) != 1 or given[0] not in accepts:
        raise exactly_one_of(accepts, key)
    return MemberRef(given[0], text(value, given[0]))


def whole_number(data: dict, key: str) -> int:
    """A whole JSON number (not a bool, a fraction or text); its range is the caller's rule."""
    value = data.get(key)
    if value is None:
        raise errors.InvalidRequest(f"{key} is required (a whole number)")
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidRequest(f"{key} must be a whole number")
    return value


def member_query(query, accepts: Sequence[MemberKind]) -> MemberRef:
    """The member a GET names in its query: exactly one of the kinds the endpoint accepts."""
    given = [kind for kind in MEMBER_KINDS if (query.get(kind) or "").strip()]
    if len(given) != 1 or given[0] not in accepts:
        raise exactly_one_of(accepts, "the query")
    return MemberRef(given[0], text(dict(query), given[0]))


def optional_amount(data, maximum: Decimal, key: str = "amount") -> Decimal | None:
    """An amount that may be left out (None), else checked like any amount."""
    if data.get(key) in (None, ""):
        return None
    return check_amount(amount(dict(data), key), maximum, key)
