"""The two ledger steps a redemption saga needs beyond spending: settling an abandoned spend (void
it unless it happened) and reversing a spend. Same slot, helpers and index sync as the ledger's own
scripts (ledger.py); kept apart so the ledger's scripts stay as they are."""
from __future__ import annotations

from datetime import datetime

import orjson

from .. import keys
from ..clock import epoch_ms
from ..points import LedgerChange
from .ledger import RedisLedgerStore, ledger_change


class RedisSpendReversalStore(RedisLedgerStore):
    async def void_spend(self, member_id: str, redemption_id: str, now: datetime) -> bool:
        result = await self._change(member_id, now, "points_spend_void", [], [redemption_id])
        return bool(result["answer"]["spent"])

    async def reverse_spend(self, member_id: str, redemption_id: str, now: datetime,
                            expires: datetime) -> LedgerChange | None:
        result = await self._change(member_id, now, "points_spend_reverse", [],
                                    [redemption_id, epoch_ms(expires), expires.date().isoformat()],
                                    new_lot_expires=expires, allowed_refusals=("not_spent",))
        return ledger_change(result) if result["ok"] else None

    async def spend_state(self, member_id: str, redemption_id: str) -> str:
        """none | spent | void | reversed"""
        spent, reversed_ = await self._redis.hmget(keys.points_ops(member_id), f"spend:{redemption_id}",
                                                   f"unspend:{redemption_id}")
        if reversed_:
            return "reversed"
        if spent is None:
            return "none"
        return "void" if orjson.loads(spent).get("void") else "spent"
