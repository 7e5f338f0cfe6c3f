"""The service desk: a member's gift voucher handed over once.

Two kinds of voucher are "collected at the service desk": the birthday gift's (a code of 5 + 5 characters, filed
under `idx:voucher:<code>` when the gift is claimed) and a catalogue reward's (a coupon of kind `voucher`, the
coupon code of the member's wallet). A collect marks the voucher used, atomically, once, and answers its gift; a
second collect is refused with `already_used` (saying when and where), unless it is the same request again
(the same `request_id`), which gets the first answer. A voucher past its last day is refused with `expired`.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from . import errors
from .birthday import VOUCHER_ALPHABET
from .clock import MALL_TZ, Clock
from .points import check_ref

_GIFT_VOUCHER = re.compile(rf"[{VOUCHER_ALPHABET}]{{5}}-[{VOUCHER_ALPHABET}]{{5}}")


@dataclass(frozen=True)
class Collected:
    code: str
    gift: str                       # what is handed over
    source: str                     # birthday | catalogue
    member_id: str
    collected_at: datetime
    desk_id: str
    staff_id: str
    replayed: bool = False


@dataclass(frozen=True)
class Collect:
    """Who collects where; `request_id` makes a retry of the same collect get the first answer."""
    desk_id: str
    staff_id: str
    request_id: str
    at: datetime


class GiftVouchers(Protocol):
    async def collect(self, code: str, collect: Collect) -> Collected:
        """Raises UnknownVoucher, VoucherCollected, VoucherExpired."""


class VoucherCoupons(Protocol):
    async def collect_voucher(self, raw_code: str, ref: str, answer: dict) -> dict:
        """Use a voucher coupon at the desk; raises UnknownCoupon, NotAVoucher, VoucherCollected, VoucherExpired."""


def is_gift_voucher_code(code: str) -> bool:
    return bool(_GIFT_VOUCHER.fullmatch(code))


class VoucherDesk:
    """The service desk's counter for gift vouchers: a birthday or catalogue gift handed over once."""
    def __init__(self, vouchers: GiftVouchers, coupons: VoucherCoupons, clock: Clock):
        self._vouchers = vouchers
        self._coupons = coupons
        self._clock = clock

    async def collect(self, raw_code: str, desk_id: str, staff_id: str, request_id: str = "") -> Collected:
        check_ref(desk_id, "desk_id")
        check_ref(staff_id, "staff_id")
        if request_id:
            check_ref(request_id, "request_id")
        collect = Collect(desk_id, staff_id, request_id or uuid.uuid4().hex, self._clock.now())
        code = raw_code.strip().upper() if isinstance(raw_code, str) else ""
        if is_gift_voucher_code(code):
            return await self._vouchers.collect(code, collect)
        answer = {"desk_id": desk_id, "staff_id": staff_id, "collected_at": collect.at.isoformat(), "discount": "0.00"}
        used = await self._coupons.collect_voucher(raw_code, f"desk:{collect.request_id}", answer)
        return Collected(code=used["code"], gift=used["gift"], source="catalogue", member_id=used["member_id"],
                         collected_at=datetime.fromisoformat(used["collected_at"]).astimezone(MALL_TZ),
                         desk_id=used["desk_id"], staff_id=used["staff_id"], replayed=used.get("replayed", False))
