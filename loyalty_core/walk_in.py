"""Walk-in sales: a purchase at a till by a customer who is not a member, the join code on its receipt, and the
member share of sales.

- A walk-in sale (`"member": null`) earns no points. It is idempotent by txn_id like any purchase: the txn
  index holds it for nobody ("|fingerprint"), so the same txn_id cannot become a member's purchase too.
- Its receipt may carry a join code: a temporary parametric QR code of scene `join:<token>` (the token is a
  digest of the txn_id, so the sale's own key is found from the scan). Scanned within `till.walk_in_join_days`
  of the sale, it joins the customer (a new follower becomes a member) and credits that purchase's points,
  once: the first scanner holds the sale; anyone else is refused with the reason (`already_joined`), and a
  late scan with `join_expired`.
- The day's sales are counted per store, members' and walk-ins' (count and amount), and the walk-ins who
  joined by their receipt, each sale once: the member share is a headline metric.

Crash story of a join, four idempotent steps: the sale's script names its member (1); the purchase is booked
in the member's ledger by its txn_id (2); the txn index moves from nobody to the member, so that refunds find
it (3); the join is counted (4). A join cut short is finished by the same member scanning again (step 1 answers
the member it already holds), which every refusal tells them to do.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from . import errors
from .clock import MALL_TZ, Clock
from .points import PointsService, Purchase, from_fen, purchase_fingerprint, to_fen

SCENE_PREFIX = "join"
SALE_KINDS = ("member", "walk_in")          # how a sale is counted; joined walk-ins are counted apart
JOINED = "joined"
NO_STORE = "-"                              # the store of a sale that names none, in the day's counts


def join_token(txn_id: str) -> str:
    return hashlib.sha256(f"walk-in:{txn_id}".encode()).hexdigest()[:24]


def join_scene(txn_id: str) -> str:
    return f"{SCENE_PREFIX}:{join_token(txn_id)}"


def sales_day(moment: datetime) -> str:
    return moment.astimezone(MALL_TZ).strftime("%Y%m%d")


@dataclass(frozen=True)
class WalkInSale:
    txn_id: str
    amount: Decimal
    occurred_at: datetime
    category: str
    store_id: str
    join_until: datetime
    member_id: str = ""         # who joined by its receipt ("" while nobody has)
    replayed: bool = False


@dataclass(frozen=True)
class Joined:
    member_id: str
    txn_id: str
    amount: Decimal
    points_earned: int
    balance: int
    replayed: bool          # the member had joined by this receipt before


@dataclass(frozen=True)
class StoreSales:
    store_id: str
    member_count: int
    member_amount: Decimal
    walk_in_count: int
    walk_in_amount: Decimal
    joined_count: int           # walk-ins of that day who joined by their receipt

    @property
    def member_share(self) -> Decimal | None:
        """The members' share of the amount sold, 0-1 to 4 places (None: nothing sold)."""
        total = self.member_amount + self.walk_in_amount
        return (self.member_amount / total).quantize(Decimal("0.0001")) if total else None


# -- ports ---------------------------------------------------------------------------------------------
class WalkInStore(Protocol):
    async def record(self, token: str, sale: dict) -> dict:
        """Keep the sale once; the sale as first kept (`fingerprint` tells a replay from a conflict)."""
    async def sale(self, token: str) -> dict | None: ...
    async def join(self, token: str, member_id: str, now: datetime) -> dict:
        """Name the sale's member, the first time only; the sale with `replayed`. Raises AlreadyJoined,
        JoinExpired, UnknownTransaction."""
    async def mark_credited(self, token: str) -> None: ...


class SalesCounter(Protocol):
    async def count(self, day: str, store_id: str, kind: str, txn_id: str, fen: int) -> None:
        """Count a sale into the day's counts, once per (kind, txn_id)."""
    async def day(self, day: str) -> dict[str, int]: ...


class TxnMover(Protocol):
    async def move_txn(self, txn_id: str, holder: str, new_holder: str) -> None:
        """Point the txn index at `new_holder` ("member_id|fingerprint") if it still holds `holder`."""


# -- the service ---------------------------------------------------------------------------------------
class WalkIns:
    def __init__(self, store: WalkInStore, sales: SalesCounter, txns: TxnMover, points: PointsService,
                 join_days: timedelta, clock: Clock):
        self._store = store
        self._sales = sales
        self._txns = txns
        self._points = points
        self._join_days = join_days
        self._clock = clock

    async def record(self, purchase: Purchase, fingerprint: str) -> WalkInSale:
        """Keep a walk-in sale (its txn_id already claimed for nobody) and count it; once."""
        now = self._clock.now()
        kept = await self._store.record(join_token(purchase.txn_id), {
            "txn_id": purchase.txn_id, "fingerprint": fingerprint, "amount_fen": to_fen(purchase.amount),
            "occurred_at": purchase.occurred_at.isoformat(), "category": purchase.category,
            "store_id": purchase.store_id, "join_until": (now + self._join_days).replace(microsecond=0).isoformat()})
        if kept["fingerprint"] != fingerprint:
            raise errors.TransactionConflict()
        await self.count_sale(purchase, "walk_in")
        return _sale(kept)

    async def count_sale(self, purchase: Purchase, kind: str) -> None:
        await self._sales.count(sales_day(purchase.occurred_at), purchase.store_id or NO_STORE, kind,
                                purchase.txn_id, to_fen(purchase.amount))

    async def sale(self, txn_id: str) -> WalkInSale | None:
        found = await self._store.sale(join_token(txn_id))
        return _sale(found) if found else None

    async def join(self, member_id: str, token: str) -> Joined:
        """The member scanned a receipt's join code: the sale's points are theirs, once."""
        kept = await self._store.join(token, member_id, self._clock.now())
        sale = _sale(kept)
        purchase = Purchase(sale.txn_id, sale.amount, sale.occurred_at, sale.category, sale.store_id)
        fingerprint = purchase_fingerprint(purchase, member_id)
        booked = await self._points.purchase(member_id, purchase, fingerprint)
        await self._txns.move_txn(sale.txn_id, f"|{kept['fingerprint']}", f"{member_id}|{fingerprint}")
        await self._sales.count(sales_day(sale.occurred_at), sale.store_id or NO_STORE, JOINED, sale.txn_id, 0)
        await self._store.mark_credited(token)
        return Joined(member_id, sale.txn_id, sale.amount, booked.points_earned, booked.balance,
                      replayed=bool(kept.get("replayed")))

    async def day(self, day: str) -> list[StoreSales]:
        """The day's sales per store (day = yyyymmdd), stores in order."""
        counts = await self._sales.day(day)
        stores = sorted({field.split("|")[0] for field in counts})
        get = lambda store, kind, what: counts.get(f"{store}|{kind}|{what}", 0)  # noqa: E731
        return [StoreSales("" if store == NO_STORE else store, get(store, "member", "count"),
                           from_fen(get(store, "member", "fen")), get(store, "walk_in", "count"),
                           from_fen(get(store, "walk_in", "fen")), get(store, JOINED, "count")) for store in stores]


def _sale(raw: dict) -> WalkInSale:
    return WalkInSale(txn_id=raw["txn_id"], amount=from_fen(int(raw["amount_fen"])),
                      occurred_at=datetime.fromisoformat(raw["occurred_at"]), category=raw.get("category", ""),
                      store_id=raw.get("store_id", ""), join_until=datetime.fromisoformat(raw["join_until"]),
                      member_id=raw.get("member_id", ""), replayed=bool(raw.get("replayed")))
