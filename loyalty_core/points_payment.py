"""Points paying at a till (积分抵扣, and points plus cash), a quote of what they may pay, and the reversal of a
payment when its sale is cancelled or refunded.

Rules (pure, below; the program file's `[points.payment]`):
- `points_per_yuan` points are worth CNY 1. A payment's points must be worth whole fen: a multiple of the
  step points_per_yuan ÷ gcd(points_per_yuan, 100) (1 point at the default 100 = CNY 1), and at least
  `min_points`.
- Points pay at most `max_share_percent` of the basket: the share is rounded down to whole fen, the points
  payable down to a whole step. A payment that names its basket (`amount`) is held to that share.
- The points are spent like a catalogue redemption (the oldest expiry first, all or nothing); a reversal puts
  them back into the lots they came from, with those lots' own expiry, once.

Exactly once across slots, as for purchases (loyalty_core/till.py): the payment index (redemption_id -> member
and a fingerprint of the request) is claimed with SET NX before the member's script runs; the script itself is
idempotent by the redemption id. The same request again gets the first answer; the same id with another
request is a conflict; a refused payment releases its claim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from . import errors
from .clock import Clock
from .members import MemberRef, MemberResolver
from .points import LedgerChange, check_amount, check_ref, fingerprint_of, from_fen, to_fen
from .program import PaymentRules, Program
from .till import TILL_MEMBER_KINDS, booked_store, member_named

CHANNEL = "till"                # what the ledger's answer and events say the points paid for
REDEMPTION_PREFIX = "pay:"      # the ledger's op key of a till payment, apart from catalogue redemptions


# -- pure rules ----------------------------------------------------------------------------------------
def points_step(rules: PaymentRules) -> int:
    """The fewest points worth a whole number of fen."""
    return rules.points_per_yuan // math.gcd(rules.points_per_yuan, 100)


def cash_value(points: int, rules: PaymentRules) -> Decimal:
    """What `points` pay, in CNY (exact for a multiple of the step)."""
    return from_fen(points * 100 // rules.points_per_yuan)


def share_cap(amount: Decimal, rules: PaymentRules) -> int:
    """The most points a basket of `amount` may be paid with: its share in whole fen, in whole steps."""
    cap_fen = to_fen(amount) * rules.max_share_percent // 100
    step = points_step(rules)
    return cap_fen * rules.points_per_yuan // 100 // step * step


def payable(balance: int, amount: Decimal | None, rules: PaymentRules) -> int:
    """The most points that may pay now: the balance in whole steps, within the basket's share; 0 when that is
    less than the minimum."""
    step = points_step(rules)
    most = balance // step * step
    if amount is not None:
        most = min(most, share_cap(amount, rules))
    return most if most >= rules.min_points else 0


def check_points(points: object, amount: Decimal | None, rules: PaymentRules) -> int:
    """Raises InvalidPoints or PointsShareExceeded for a payment the rules refuse (whatever the balance)."""
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= 10**12:
        raise errors.InvalidPoints("points must be a whole number above 0")
    if points < rules.min_points:
        raise errors.InvalidPoints(f"points must be at least {rules.min_points}", min_points=rules.min_points)
    if points % points_step(rules):
        raise errors.InvalidPoints(f"points must be a multiple of {points_step(rules)}", step=points_step(rules))
    if amount is not None and points > share_cap(amount, rules):
        raise errors.PointsShareExceeded(f"points may pay at most {rules.max_share_percent}% of the basket "
                                         f"({share_cap(amount, rules)} points)", max_points=share_cap(amount, rules))
    return points


# -- values ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PaymentRequest:
    redemption_id: str
    member: MemberRef
    points: int
    txn_id: str
    store_id: str = ""
    amount: Decimal | None = None       # the basket, when the till names it: the share is checked against it

    def fingerprint(self, member_id: str) -> str:
        basket = "" if self.amount is None else str(to_fen(self.amount))
        return fingerprint_of(["payment", self.redemption_id, member_id, str(self.points), self.txn_id,
                               self.store_id, basket])


@dataclass(frozen=True)
class Payment:
    member_id: str
    redemption_id: str
    points_spent: int
    cash_value: Decimal
    balance: int
    txn_id: str
    store_id: str
    replayed: bool = False


@dataclass(frozen=True)
class PaymentReversal:
    member_id: str
    redemption_id: str
    points_restored: int
    balance: int
    replayed: bool = False


@dataclass(frozen=True)
class Quote:
    member_id: str
    balance: int
    points: int                 # the most points that may pay (0: none may)
    cash_value: Decimal
    points_per_yuan: int
    min_points: int
    max_share_percent: int


# -- ports ---------------------------------------------------------------------------------------------
class PaymentLedger(Protocol):
    async def pay(self, member_id: str, points: int, ref: str, paying: dict, now: datetime) -> LedgerChange:
        """Spend the points, oldest expiry first, recording the lots drawn; raises InsufficientPoints."""
    async def restore(self, member_id: str, ref: str, now: datetime, reason: str = "") -> LedgerChange | None:
        """Put the points back into their lots (the first answer on a replay); None when nothing was spent."""
    async def paid(self, member_id: str, ref: str) -> dict | None:
        """The payment's answer as stored (store_id, txn_id, points …), or None."""
    async def available(self, member_id: str, now: datetime) -> int: ...


class PaymentIndex(Protocol):
    async def claim_payment(self, redemption_id: str, member_id: str, fingerprint: str) -> tuple[str, str] | None:
        """Claim the redemption id; None if claimed now, else the (member_id, fingerprint) that holds it."""
    async def payment_owner(self, redemption_id: str) -> tuple[str, str] | None: ...
    async def release_payment(self, redemption_id: str, member_id: str, fingerprint: str) -> None: ...


# -- the service ---------------------------------------------------------------------------------------
class PointsPayments:
    def __init__(self, ledger: PaymentLedger, index: PaymentIndex, members: MemberResolver, program: Program,
                 clock: Clock):
        self._ledger = ledger
        self._index = index
        self._members = members
        self._rules = program.points.payment
        self._maximum = program.till.max_purchase_amount
        self._clock = clock

    async def pay(self, request: PaymentRequest, *, bound_store: str = "") -> Payment:
        """`bound_store`: the store the caller's key is bound to ("" = any store)."""
        request = replace(request, store_id=booked_store(bound_store, request.store_id))
        self._check(request)
        member_id = await self._member_of(request)
        fingerprint = request.fingerprint(member_id)
        holder = await self._index.claim_payment(request.redemption_id, member_id, fingerprint)
        if holder is not None and holder != (member_id, fingerprint):
            raise errors.PaymentConflict()
        value = cash_value(request.points, self._rules)
        paying = {"channel": CHANNEL, "txn_id": request.txn_id, "store_id": request.store_id,
                  "cash_value": str(value)}
        try:
            change = await self._ledger.pay(member_id, request.points, REDEMPTION_PREFIX + request.redemption_id,
                                            paying, self._clock.now())
        except errors.DomainError:
            if holder is None:
                await self._index.release_payment(request.redemption_id, member_id, fingerprint)
            raise
        return Payment(member_id, request.redemption_id, change.points, value, change.balance, request.txn_id,
                       request.store_id, change.replayed)

    async def reverse(self, redemption_id: str, reason: str, *, bound_store: str = "") -> PaymentReversal:
        """Give the points back into their original lots, once (`reason`: why, kept in the member's history); a
        key bound to a store reverses its own store's payments only."""
        check_ref(redemption_id, "redemption_id")
        holder = await self._index.payment_owner(redemption_id)
        paid = None if holder is None else await self._ledger.paid(holder[0], REDEMPTION_PREFIX + redemption_id)
        if paid is None:
            raise errors.UnknownRedemption()
        if bound_store and paid.get("store_id") != bound_store:
            raise errors.OtherStore()
        change = await self._ledger.restore(holder[0], REDEMPTION_PREFIX + redemption_id, self._clock.now(), reason)
        if change is None:
            raise errors.UnknownRedemption()
        return PaymentReversal(holder[0], redemption_id, change.points, change.balance, change.replayed)

    async def quote(self, member: MemberRef, amount: Decimal | None) -> Quote:
        """How many points may pay for a basket of `amount` (any basket: None), and their value; changes
        nothing (a member code stays valid for the purchase)."""
        if amount is not None:
            check_amount(amount, self._maximum)
        member_id = await self._members.peek(member, TILL_MEMBER_KINDS)
        balance = await self._ledger.available(member_id, self._clock.now())
        points = payable(balance, amount, self._rules) if self._rules.enabled else 0
        rules = self._rules
        return Quote(member_id, balance, points, cash_value(points, rules), rules.points_per_yuan, rules.min_points,
                     rules.max_share_percent)

    def _check(self, request: PaymentRequest) -> None:
        if not self._rules.enabled:
            raise errors.PointsPaymentOff()
        check_ref(request.redemption_id, "redemption_id")
        check_ref(request.txn_id, "txn_id")
        if request.amount is not None:
            check_amount(request.amount, self._maximum)
        check_points(request.points, request.amount, self._rules)

    async def _member_of(self, request: PaymentRequest) -> str:
        return await member_named(self._members, request.member, request.txn_id,
                                  lambda: self._index.payment_owner(request.redemption_id))
