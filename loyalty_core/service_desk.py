"""The service desk: members reach a person (WeChat's customer-service system takes over the chat while staff
are there) and leave suggestions for staff at any time.

Staffed hours are the program file's `[service]` (mall time, every day; `opens` before `closes`). Outside them
the member is told when staff are back and offered to leave a message (`建议 <text>`). A suggestion is kept
once per message (a retried callback adds none), with the member id and the time, for staff to read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from pydantic import model_validator

from . import errors
from .clock import MALL_TZ, Clock
from .program_fields import ClockTime, Invalid, OptionalText, rules

SUGGESTION_MAX_CHARS = 500


@rules
class ServiceRules:
    """The `[service]` section."""
    opens: ClockTime = time(9, 0)
    closes: ClockTime = time(21, 0)
    kf_account: OptionalText = ""            # a customer-service account to hand to ("" = whoever is free)

    @model_validator(mode="after")
    def _opens_before_closing(self) -> "ServiceRules":
        if self.opens >= self.closes:
            raise Invalid("must be before closes", ("opens",))
        return self


@dataclass(frozen=True)
class Staffing:
    staffed: bool
    opens: time
    closes: time
    back_at: datetime | None = None          # not staffed: when staff are there again …
    back_tomorrow: bool = False              # … which is tomorrow (else later today)
    kf_account: str = ""


def staffing(now: datetime, rules: ServiceRules) -> Staffing:
    local = now.astimezone(MALL_TZ)
    if rules.opens <= local.time() < rules.closes:
        return Staffing(True, rules.opens, rules.closes, kf_account=rules.kf_account)
    tomorrow = local.time() >= rules.closes
    day = local.date() + timedelta(days=1) if tomorrow else local.date()
    return Staffing(False, rules.opens, rules.closes, datetime.combine(day, rules.opens, MALL_TZ), tomorrow)


@dataclass(frozen=True)
class Suggestion:
    member_id: str
    text: str
    at: datetime


class SuggestionStore(Protocol):
    async def add(self, suggestion: Suggestion, op_key: str) -> bool:
        """Keep it once per op_key; False when that message was kept already."""
    async def latest(self, count: int) -> list[Suggestion]: ...


class ServiceDesk:
    def __init__(self, store: SuggestionStore, rules: ServiceRules, clock: Clock):
        self._store = store
        self.rules = rules
        self._clock = clock

    def staffing(self) -> Staffing:
        return staffing(self._clock.now(), self.rules)

    async def suggest(self, member_id: str, text: str, op_key: str) -> Suggestion:
        text = " ".join(text.split())
        if not text:
            raise errors.EmptySuggestion()
        suggestion = Suggestion(member_id, text[:SUGGESTION_MAX_CHARS], self._clock.now())
        await self._store.add(suggestion, op_key)
        return suggestion

    async def latest(self, count: int) -> list[Suggestion]:
        return await self._store.latest(count)
