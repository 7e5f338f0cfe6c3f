"""Points paying at a till, in Redis: the member's spend and its reversal into the original lots are the
ledger's own scripts (points_spend.lua records the lots drawn, points_spend_reverse.lua in mode `original`
puts them back), with the ledger's relay and index sync; the payment index is a global key claimed with SET NX,
like the txn index."""
from __future__ import annotations

from datetime import datetime

import orjson

from .. import keys
from ..clock import epoch_ms
from ..points import LedgerChange
from .ledger import RedisLedgerStore, ledger_change


class RedisPaymentStore(RedisLedgerStore):
    async def pay(self, member_id: str, points: int, ref: str, paying: dict, now: datetime) -> LedgerChange:
        return ledger_change(await self._change(member_id, now, "points_spend", [],
                                                [ref, points, orjson.dumps(paying).decode()]))

    async def restore(self, member_id: str, ref: str, now: datetime, reason: str = "") -> LedgerChange | None:
        # the restored lots may expire before any other: the expiry index is pre-marked at now
        result = await self._change(member_id, now, "points_spend_reverse", [],
                                    [ref, epoch_ms(now), "", "original", reason],
                                    new_lot_expires=now, allowed_refusals=("not_spent",))
        return ledger_change(result) if result["ok"] else None

    async def paid(self, member_id: str, ref: str) -> dict | None:
        raw = await self._batcher.call("HGET", keys.points_ops(member_id), f"spend:{ref}")
        return orjson.loads(raw)["answer"] if raw else None

    async def available(self, member_id: str, now: datetime) -> int:
        return (await self.balance_view(member_id, now, now)).balance

    async def claim_payment(self, redemption_id: str, member_id: str, fingerprint: str) -> tuple[str, str] | None:
        return await self._claim(keys.payment_index(redemption_id), f"{member_id}|{fingerprint}")

    async def payment_owner(self, redemption_id: str) -> tuple[str, str] | None:
        holder = await self._batcher.call("GET", keys.payment_index(redemption_id))
        if holder is None:
            return None
        member_id, _, fingerprint = holder.partition("|")
        return member_id, fingerprint

    async def release_payment(self, redemption_id: str, member_id: str, fingerprint: str) -> None:
        await self._release(keys.payment_index(redemption_id), f"{member_id}|{fingerprint}")
