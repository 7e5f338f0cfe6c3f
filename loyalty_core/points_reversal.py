"""Undoing a redemption's spend: the ledger side of the redemption saga's compensations.

- `void_unless_spent`: for a redemption abandoned by a crashed process, decide once and for all in
  the member's slot whether its points were spent; if not, no later spend of that redemption id can
  happen (the sweeper then releases the stock; the redemption never took effect).
- `reverse`: give back the points of a spend whose reward could not be issued (once per redemption).
Both keep balance + spent constant: a void changes neither, a reversal moves points from spent back
to the balance.
"""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .clock import Clock
from .points import LedgerChange, add_months, check_ref
from .program import Program


class SpendReversalStore(Protocol):
    async def void_spend(self, member_id: str, redemption_id: str, now: datetime) -> bool:
        """Whether the redemption's points were spent; if not, its spend is void from now on."""
    async def reverse_spend(self, member_id: str, redemption_id: str, now: datetime,
                            expires: datetime) -> LedgerChange | None:
        """The points given back as a new lot (the first answer on a replay); None when nothing was spent."""
    async def spend_state(self, member_id: str, redemption_id: str) -> str: ...


class SpendReversals:
    def __init__(self, store: SpendReversalStore, program: Program, clock: Clock):
        self._store = store
        self._program = program
        self._clock = clock

    async def void_unless_spent(self, member_id: str, redemption_id: str) -> bool:
        """True if the redemption's points were spent; else they never will be (the spend is voided)."""
        return await self._store.void_spend(member_id, check_ref(redemption_id, "redemption_id"), self._clock.now())

    async def reverse(self, member_id: str, redemption_id: str) -> LedgerChange | None:
        """Return the spent points as a new lot; None when nothing was spent for this redemption."""
        now = self._clock.now()
        expires = add_months(now, self._program.points.lot_lifetime_months)
        return await self._store.reverse_spend(member_id, check_ref(redemption_id, "redemption_id"), now, expires)

    async def state(self, member_id: str, redemption_id: str) -> str:
        """none | spent | void | reversed"""
        return await self._store.spend_state(member_id, redemption_id)
