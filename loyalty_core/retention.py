"""What grows with every purchase, kept only as long as it is needed (the program file's `[retention]`):

- a purchase's txn_id, a refund's refund_id and a points payment's redemption_id: claimed with a time to live
  of `till_retry_days` (loyalty_core/redis_store/ledger.py), so a till's retry within it gets the first
  answer and a refund within it finds its purchase;
- a member's points history (明细): entries older than `history_months` are forgotten whenever the member's
  points change (the consumer of points_earned here), so it holds at most that many months of entries;
- a member's coupons: those used, expired or revoked whose validity ended more than `ended_coupon_months` ago
  are forgotten when the member gets a new coupon (the per-template counts stay, so limits still hold);
- the streams (the domain events, the push outbox partitions): the `retention` job trims the entries every
  consumer group has read and acknowledged;
- what is bounded by itself: each member's delivery log (the newest entries), the dead letters and the
  suggestions (capped streams), one-shot keys with their own time to live (member codes, operations' answers,
  the events a consumer group handled).
"""
from __future__ import annotations

from datetime import date, datetime
from itertools import takewhile
from typing import Protocol

from .clock import MALL_TZ, Clock, epoch_ms
from .program import Program
from .points import add_months

RETENTION_GROUP = "retention"


class RetentionStore(Protocol):
    async def oldest_history(self, member_id: str) -> list[dict]: ...
    async def forget_history_through(self, member_id: str, seq: int) -> int: ...
    async def forget_purchases_before(self, member_id: str, cutoff_day: int) -> int: ...
    async def coupons(self, member_id: str) -> dict[str, dict]: ...
    async def forget_coupons(self, member_id: str, codes: list[str], cutoff_ms: int) -> list[str]: ...
    async def trim_stream(self, stream: str) -> int: ...


def ended_before(coupon: dict, cutoff_ms: int) -> bool:
    return coupon.get("status") != "issued" and int(coupon["expires_ms"]) < cutoff_ms


class Retention:
    def __init__(self, store: RetentionStore, program: Program, clock: Clock, streams: list[str]):
        self._store = store
        self.rules = program.retention
        self._clock = clock
        self._streams = streams

    def history_cutoff(self, now: datetime) -> datetime:
        return add_months(now, -self.rules.history_months)

    def purchase_cutoff(self, now: datetime) -> date:
        """The first day whose purchases are kept, in the mall's timezone."""
        kept_from = min(add_months(now, -self.rules.purchase_months), now - self.rules.till_retry)
        return kept_from.astimezone(MALL_TZ).date()

    def coupon_cutoff(self, now: datetime) -> datetime:
        return add_months(now, -self.rules.ended_coupon_months)

    async def trim_history(self, member_id: str) -> int:
        """Forgets the member's history entries older than the cutoff, a page of the oldest at a time."""
        cutoff, forgotten = self.history_cutoff(self._clock.now()), 0
        while True:
            page = await self._store.oldest_history(member_id)
            old = list(takewhile(lambda entry: datetime.fromisoformat(entry["at"]) < cutoff, page))
            if not old:
                return forgotten
            forgotten += await self._store.forget_history_through(member_id, old[-1]["seq"])
            if len(old) < len(page):
                return forgotten

    async def trim_purchases(self, member_id: str) -> int:
        cutoff = self.purchase_cutoff(self._clock.now())
        return await self._store.forget_purchases_before(member_id, int(cutoff.strftime("%Y%m%d")))

    async def trim_coupons(self, member_id: str) -> int:
        cutoff_ms = epoch_ms(self.coupon_cutoff(self._clock.now()))
        ended = [code for code, coupon in (await self._store.coupons(member_id)).items()
                 if ended_before(coupon, cutoff_ms)]
        return len(await self._store.forget_coupons(member_id, ended, cutoff_ms)) if ended else 0

    async def trim_streams(self) -> int:
        return sum([await self._store.trim_stream(stream) for stream in self._streams])

    async def on_points_earned(self, event: dict) -> None:
        await self.trim_history(event["member_id"])
        await self.trim_purchases(event["member_id"])

    async def on_coupon_issued(self, event: dict) -> None:
        await self.trim_coupons(event["member_id"])

    def handlers(self) -> dict:
        return {"points_earned": self.on_points_earned, "coupon_issued": self.on_coupon_issued}
