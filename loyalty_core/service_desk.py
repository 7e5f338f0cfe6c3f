"""The service desk: members reach a person (WeChat's customer-service system takes over the chat while staff
are there) and leave suggestions for staff at any time.

Staffed hours are the program file's `[service]` (mall time, every day; `opens` before `closes`). Outside them
the member is told when staff are back and offered to leave a message (`建议 <text>`). A suggestion is kept
once per message (a retried callback adds none), with the member id and the time, for staff to read.

Staff mark what members told them (a suggestion, a survey answer, an event comment) handled, with a reason: once
per item (marking it again keeps the first mark), so the feedback inbox shows what is still open.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from pydantic import model_validator

from . import errors
from .clock import MALL_TZ, Clock
from .program_fields import ClockTime, Invalid, OptionalText, rules

SUGGESTION_MAX_CHARS = 500
# what a mark names: a suggestion (its stream entry), a survey answer (store and purchase), an event comment
FEEDBACK_REF = re.compile(r"(suggestion:\d{1,20}-\d{1,20}|survey:[A-Za-z0-9_.-]{1,64}:\S{1,200}|"
                          r"event:[A-Za-z0-9_.-]{1,48}:\d{1,20})")


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
    entry_id: str = ""                       # as kept (its stream entry)

    @property
    def ref(self) -> str:
        return f"suggestion:{self.entry_id}"


@dataclass(frozen=True)
class Handled:
    ref: str
    by: str
    at: str
    reason: str
    first: bool = True                       # False: it was marked before (this is that mark)


class SuggestionStore(Protocol):
    async def add(self, suggestion: Suggestion, op_key: str) -> bool:
        """Keep it once per op_key; False when that message was kept already."""
    async def latest(self, count: int) -> list[Suggestion]: ...
    async def mark_handled(self, handled: Handled) -> Handled:
        """Once per ref: a second mark returns the first (first=False)."""
    async def handled(self, refs: list[str]) -> dict[str, Handled]: ...


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

    async def mark_handled(self, ref: str, by: str, reason: str) -> Handled:
        """The item marked handled by staff, once (a reason is the caller's to check)."""
        if not isinstance(ref, str) or not FEEDBACK_REF.fullmatch(ref):
            raise errors.InvalidRequest("no such feedback to mark")
        return await self._store.mark_handled(Handled(ref, by, self._clock.now().isoformat(timespec="seconds"),
                                                      reason))

    async def handled(self, refs: list[str]) -> dict[str, Handled]:
        return await self._store.handled(refs) if refs else {}
