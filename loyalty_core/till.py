"""Purchases and refunds from the mall's tills: who the member is, once per txn_id / refund_id.

Exactly once across slots: the txn index (txn_id -> member and a fingerprint of the request) is a
global key claimed with SET NX before the member's script runs; the member's script is itself
idempotent by txn_id. A replay (same fingerprint) gets the first answer; the same id with another
fingerprint is a conflict. Requests that fail change nothing (a claim is released on failure).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Awaitable, Callable, Protocol


from . import errors
from .clock import Clock
from .members import MemberKind, MemberRef, MemberResolver
from .points import (
    Purchase, PurchaseResult, PointsService, RefundResult, check_amount, check_ref, fingerprint_of,
    purchase_fingerprint, to_fen,
)
from .program import Program
from .walk_in import WalkIns, WalkInSale

TILL_MEMBER_KINDS: tuple[MemberKind, ...] = ("openid", "phone", "member_code")   # how a till names the member


@dataclass(frozen=True)
class PurchaseRequest:
    txn_id: str
    member: MemberRef | None        # None: a walk-in sale (loyalty_core/walk_in.py)
    amount: Decimal
    occurred_at: datetime
    category: str = ""
    store_id: str = ""

    @property
    def purchase(self) -> Purchase:
        return Purchase(self.txn_id, self.amount, self.occurred_at, self.category, self.store_id)

    def fingerprint(self, member_id: str) -> str:
        """Equal for the same purchase however the till spelled it (and whichever way it named the member)."""
        return purchase_fingerprint(self.purchase, member_id)


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    txn_id: str
    amount: Decimal

    def fingerprint(self) -> str:
        return fingerprint_of(["refund", self.refund_id, self.txn_id, str(to_fen(self.amount))])


@dataclass(frozen=True)
class RefundState:
    """What a refund needs to know before claiming its id: the purchase's member (None: no such txn), who holds
    the refund id already (member_id, fingerprint), and the purchase record (amount and refunded in fen,
    store)."""
    txn_member: str | None
    refund_holder: tuple[str, str] | None
    purchase: dict | None


async def member_named(members: MemberResolver, ref: MemberRef, txn_id: str,
                       first_holder: Callable[[], Awaitable[tuple[str, str] | None]]) -> str:
    """The member a till request names. A member code is used by the request's first attempt (and may have
    expired since), so a retry's member is whoever holds the request's id (`first_holder`)."""
    if ref.kind == "member_code":
        holder = await first_holder()
        if holder is not None:
            return holder[0]
    return await members.resolve(ref, TILL_MEMBER_KINDS, txn_id=txn_id)


def booked_store(bound_store: str, store_id: str) -> str:
    """The store a request books for. A till key bound to a store books for that store alone: a request that
    names no store is its store's, one that names another store is refused."""
    if not bound_store or store_id == bound_store:
        return store_id
    if not store_id:
        return bound_store
    raise errors.OtherStore()




class TillIndex(Protocol):
    async def claim_txn(self, txn_id: str, member_id: str, fingerprint: str) -> tuple[str, str] | None:
        """Claim the txn_id; None if claimed now, else the (member_id, fingerprint) that holds it."""
    async def txn_owner(self, txn_id: str) -> tuple[str, str] | None: ...
    async def release_txn(self, txn_id: str, member_id: str, fingerprint: str) -> None: ...
    async def refund_state(self, refund_id: str, txn_id: str) -> RefundState: ...
    async def claim_refund(self, refund_id: str, member_id: str, fingerprint: str) -> tuple[str, str] | None: ...
    async def release_refund(self, refund_id: str, member_id: str, fingerprint: str) -> None: ...


class TillService:
    def __init__(self, points: PointsService, members: MemberResolver, index: TillIndex, program: Program,
                 clock: Clock, walk_ins: WalkIns):
        self._points = points
        self._walk_ins = walk_ins
        self._members = members
        self._index = index
        self._program = program
        self._clock = clock

    def check_purchase(self, request: PurchaseRequest) -> None:
        """The request's own rules (ids, amount, time); raises InvalidRequest / InvalidAmount / InvalidTime."""
        check_ref(request.txn_id, "txn_id")
        check_amount(request.amount, self._program.till.max_purchase_amount)
        now, rules = self._clock.now(), self._program.till
        if request.occurred_at.tzinfo is None:
            raise errors.InvalidTime("occurred_at needs a time zone")
        if request.occurred_at > now + rules.max_future:
            raise errors.InvalidTime("occurred_at is in the future")
        if request.occurred_at < now - rules.max_backdate:
            raise errors.InvalidTime(f"occurred_at is more than {rules.max_backdate.days} days ago")

    async def purchase(self, request: PurchaseRequest, *, bound_store: str = "") -> PurchaseResult | WalkInSale:
        """`bound_store`: the store the caller's key is bound to ("" = any store). A request that names no member
        is a walk-in sale (no points), held in the txn index for nobody."""
        request = replace(request, store_id=booked_store(bound_store, request.store_id))
        self.check_purchase(request)
        member_id = "" if request.member is None else await self._member_of(request)
        fingerprint = request.fingerprint(member_id)
        holder = await self._index.claim_txn(request.txn_id, member_id, fingerprint)
        if holder is not None and holder != (member_id, fingerprint):
            raise errors.TransactionConflict()
        try:
            if not member_id:
                return await self._walk_ins.record(request.purchase, fingerprint)
            booked = await self._points.purchase(member_id, request.purchase, fingerprint)
        except errors.DomainError:
            if holder is None:
                await self._index.release_txn(request.txn_id, member_id, fingerprint)
            raise
        await self._walk_ins.count_sale(request.purchase, "member")
        return booked

    async def txn_owner(self, txn_id: str) -> tuple[str, str] | None:
        """Who holds the txn_id: (member_id, fingerprint), member_id "" for a walk-in sale; None: no such txn."""
        return await self._index.txn_owner(txn_id)

    async def _member_of(self, request: PurchaseRequest) -> str:
        return await member_named(self._members, request.member, request.txn_id,
                                  lambda: self._index.txn_owner(request.txn_id))

    async def refund(self, request: RefundRequest, *, bound_store: str = "") -> RefundResult:
        """`bound_store`: the store the caller's key is bound to ("" = any store); it refunds its own sales only."""
        check_ref(request.refund_id, "refund_id")
        check_ref(request.txn_id, "txn_id")
        check_amount(request.amount, self._program.till.max_purchase_amount)
        fingerprint = request.fingerprint()
        state = await self._index.refund_state(request.refund_id, request.txn_id)
        if state.txn_member is None:
            raise errors.UnknownTransaction()
        if not state.txn_member:
            raise errors.WalkInSale()
        if bound_store and (state.purchase or {}).get("store") != bound_store:
            raise errors.OtherStore()
        member_id = state.txn_member
        if state.refund_holder is None:
            self._check_refundable(state.purchase, request)
            holder = await self._index.claim_refund(request.refund_id, member_id, fingerprint)
        else:
            holder = state.refund_holder
        if holder is not None and holder != (member_id, fingerprint):
            raise errors.RefundConflict()
        try:
            return await self._points.refund(member_id, request.refund_id, request.txn_id, request.amount,
                                             fingerprint)
        except errors.DomainError:
            if holder is None:
                await self._index.release_refund(request.refund_id, member_id, fingerprint)
            raise

    @staticmethod
    def _check_refundable(purchase: dict | None, request: RefundRequest) -> None:
        """Refuse before claiming anything (the member's script checks again, atomically)."""
        if purchase is None:
            raise errors.UnknownTransaction()
        if purchase["refunded"] + to_fen(request.amount) > purchase["amount"]:
            raise errors.RefundExceedsPurchase()
