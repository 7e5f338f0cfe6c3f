"""The member code: 18 digits shown in chat (text and QR) that a till scans to credit a purchase.

Valid for a few minutes and used once: the first purchase that presents it consumes it atomically
(a retry of that same purchase may present it again).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from . import errors
from .clock import Clock
from .program import MemberCodeRules

CODE_PREFIX = "88"                  # sets member codes apart from payment codes (10-15…) at the till
CODE_DIGITS = 18
_CODE = re.compile(rf"\d{{{CODE_DIGITS}}}")
GARBAGE_AFTER = timedelta(hours=1)  # validity is judged on the injected clock; the TTL only tidies up


@dataclass(frozen=True)
class MemberCode:
    code: str
    expires_at: datetime
    valid_minutes: int

    @property
    def grouped(self) -> str:
        """1234 5678 9012 3456 78: easier to read out at the till."""
        return " ".join(self.code[i:i + 4] for i in range(0, len(self.code), 4))


def is_member_code(value: str) -> bool:
    return isinstance(value, str) and bool(_CODE.fullmatch(value))


class MemberCodeStore(Protocol):
    async def create_member_code(self, code: str, member_id: str, expires_at: datetime, ttl: timedelta) -> bool:
        """Store a new code unless it exists; False on a collision."""

    async def use_member_code(self, code: str, txn_id: str, now: datetime) -> str | None:
        """The member of a valid code, consuming it for this txn; None if unknown, used or expired."""

    async def peek_member_code(self, code: str, now: datetime) -> str | None:
        """The member of a code not yet expired, used or not, without consuming it; None if unknown or expired."""


class MemberCodeService:
    def __init__(self, store: MemberCodeStore, rules: MemberCodeRules, clock: Clock):
        self._store = store
        self._rules = rules
        self._clock = clock

    async def issue(self, member_id: str) -> MemberCode:
        expires_at = self._clock.now() + self._rules.validity
        for _ in range(5):
            code = CODE_PREFIX + "".join(str(secrets.randbelow(10)) for _ in range(CODE_DIGITS - len(CODE_PREFIX)))
            if await self._store.create_member_code(code, member_id, expires_at, self._rules.validity + GARBAGE_AFTER):
                return MemberCode(code, expires_at, int(self._rules.validity.total_seconds() // 60))
        raise RuntimeError("could not draw an unused member code")

    async def use(self, code: str, txn_id: str) -> str:
        if not is_member_code(code):
            raise errors.InvalidMemberCode()
        member_id = await self._store.use_member_code(code, txn_id, self._clock.now())
        if member_id is None:
            raise errors.InvalidMemberCode()
        return member_id

    async def peek(self, code: str) -> str:
        """The member a code names, for a look at the counter before the purchase: the code is not used up
        (a code the purchase already used still names its member until it expires)."""
        if not is_member_code(code):
            raise errors.InvalidMemberCode()
        member_id = await self._store.peek_member_code(code, self._clock.now())
        if member_id is None:
            raise errors.InvalidMemberCode()
        return member_id
