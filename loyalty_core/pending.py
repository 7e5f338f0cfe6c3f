"""Pending choices: something a member is asked to confirm (确认) or decline (取消) within a short window.

Any feature can ask: `offer(member_id, kind, payload, summary)` stores one pending choice per member (a
new offer replaces the previous one). A choice carries:
- `kind`: the feature that made it ("redeem", "birthday", …); the bot's router maps each kind to what
  confirming does (`@router.confirm("kind")`, bot/handlers/confirm.py);
- `choice_id`: random, the idempotency key of what confirming does, so a double-tapped 确认 acts once;
- `payload`: JSON-safe data the confirm handler needs; `summary`: what is being confirmed, in words;
- `expires_at` on the injected clock: confirming later raises ChoiceLapsed.

`carry_out` is the whole of 确认: it claims the choice (open → confirming, atomically), runs what confirming
does, and settles the choice (→ done) when that succeeds, or drops it when it is refused with a domain
error (the refusal is the member's answer). 取消 forgets only an open choice: once 确认 has
claimed it, it is being carried out and 取消 says so, so a member never hears both "cancelled" and
"done". A claimed or settled choice stays readable for a while, so a repeat of 确认 reaches the
(idempotent) handler again and gets the same answer instead of "nothing to confirm".
"""
from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Literal, Protocol, TypeVar

from . import errors
from .clock import Clock

T = TypeVar("T")
DEFAULT_WINDOW = timedelta(minutes=2)
KEEP_AFTER = timedelta(hours=1)      # how long Redis keeps a choice past its expiry (garbage collection only)


@dataclass(frozen=True)
class PendingChoice:
    kind: str
    choice_id: str
    summary: str
    offered_at: datetime
    expires_at: datetime
    payload: dict = field(default_factory=dict)
    status: str = "open"             # open | confirming (claimed by 确认) | done

    def lapsed(self, now: datetime) -> bool:
        return self.status == "open" and now >= self.expires_at

    def to_dict(self) -> dict:
        return asdict(self) | {"offered_at": self.offered_at.isoformat(), "expires_at": self.expires_at.isoformat()}

    @classmethod
    def from_dict(cls, raw: dict) -> "PendingChoice":
        return cls(**raw | {"offered_at": datetime.fromisoformat(raw["offered_at"]),
                            "expires_at": datetime.fromisoformat(raw["expires_at"])})


@dataclass(frozen=True)
class Cancellation:
    outcome: Literal["cancelled", "claimed", "none"]   # claimed: 确认 has it (being carried out, or done)
    choice: PendingChoice | None = None


class PendingStore(Protocol):
    async def put(self, member_id: str, choice: dict, keep: timedelta) -> None: ...
    async def get(self, member_id: str) -> dict | None: ...
    async def claim(self, member_id: str, choice_id: str) -> bool:
        """Mark the choice confirming if it is still the member's pending one (again, if it is claimed)."""
    async def cancel(self, member_id: str) -> Cancellation:
        """Delete the choice if it is open."""
    async def settle(self, member_id: str, choice_id: str) -> bool:
        """Mark the choice done if it is still the member's pending one."""
    async def drop(self, member_id: str, choice_id: str) -> bool:
        """Delete the choice if it is still the member's pending one."""


class PendingChoices:
    def __init__(self, store: PendingStore, clock: Clock, window: timedelta = DEFAULT_WINDOW):
        self._store = store
        self._clock = clock
        self.window = window

    async def offer(self, member_id: str, kind: str, payload: dict, summary: str,
                    window: timedelta | None = None) -> PendingChoice:
        now = self._clock.now()
        choice = PendingChoice(kind=kind, choice_id=f"{kind}-{secrets.token_hex(10)}", summary=summary,
                               offered_at=now, expires_at=now + (window or self.window), payload=payload)
        await self._store.put(member_id, choice.to_dict(), (window or self.window) + KEEP_AFTER)
        return choice

    async def current(self, member_id: str) -> PendingChoice | None:
        raw = await self._store.get(member_id)
        return None if raw is None else PendingChoice.from_dict(raw)

    async def to_confirm(self, member_id: str) -> PendingChoice:
        """The choice 确认 applies to, claimed so that 取消 no longer drops it; raises NothingToConfirm
        (also when it was cancelled or replaced meanwhile), or ChoiceLapsed (and forgets it)."""
        choice = await self.current(member_id)
        if choice is None:
            raise errors.NothingToConfirm()
        if choice.lapsed(self._clock.now()):
            await self._store.drop(member_id, choice.choice_id)
            raise errors.ChoiceLapsed(summary=choice.summary)
        if not await self._store.claim(member_id, choice.choice_id):
            raise errors.NothingToConfirm()
        return choice if choice.status != "open" else replace(choice, status="confirming")

    async def carry_out(self, member_id: str, act: Callable[[PendingChoice], Awaitable[T]]) -> T:
        """确认: claim the member's choice, `act` on it, then settle it; a domain error from `act` drops the
        choice and is raised (ChoiceLapsed and NothingToConfirm come before anything is claimed)."""
        choice = await self.to_confirm(member_id)
        try:
            done = await act(choice)
        except errors.DomainError:
            await self.drop(member_id, choice)
            raise
        await self.settle(member_id, choice)
        return done

    async def cancel(self, member_id: str) -> PendingChoice:
        """Forget the open choice (取消); raises NothingToConfirm when there is none, ChoiceConfirmed when
        确认 has claimed it (it is being carried out, or done)."""
        cancelled = await self._store.cancel(member_id)
        if cancelled.outcome == "cancelled":
            return cancelled.choice
        if cancelled.outcome == "claimed":
            raise errors.ChoiceConfirmed(summary=cancelled.choice.summary, done=cancelled.choice.status == "done")
        raise errors.NothingToConfirm()

    async def settle(self, member_id: str, choice: PendingChoice) -> PendingChoice:
        """The confirm handler did its work: later repeats of 确认 reach it again (idempotent), never lapse."""
        await self._store.settle(member_id, choice.choice_id)
        return replace(choice, status="done")

    async def drop(self, member_id: str, choice: PendingChoice) -> None:
        """Forget the choice (e.g. confirming it failed for good), if it is still the pending one."""
        await self._store.drop(member_id, choice.choice_id)
