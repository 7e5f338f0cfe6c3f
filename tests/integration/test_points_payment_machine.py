"""Points paid at the till and then reversed leave the ledger exactly as it would be had they never been paid:
the balance, the lots and their expiry dates. A state machine on the real Redis store runs two members in
lockstep through random purchases, payments kept, time passing with the expiry job, refused payments, and
payments later reversed (with purchases and expiries in between); the shadow member never sees the reversed
payments. Whenever no payment is awaiting its reversal, both members' ledgers must be equal, lot by lot.
Each example uses members of its own."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import orjson
from loyalty_core.redis_store.connection import connect
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from bot.services import NoBirthdaysYet
from loyalty_core import errors, keys
from loyalty_core.clock import ManualClock
from loyalty_core.points import PointsService, Purchase
from loyalty_core.points_payment import REDEMPTION_PREFIX, check_points
from loyalty_core.program import load_program
from loyalty_core.redis_store.outbox import Outbox
from loyalty_core.redis_store.scripts import Scripts
from loyalty_core.redis_store.till_payments import RedisPaymentStore

PROGRAM = load_program()
RULES = PROGRAM.points.payment
PAYING = {"channel": "till", "txn_id": "T", "store_id": "S01", "cash_value": "0.00"}


class PaymentMachine(RuleBasedStateMachine):
    def __init__(self, redis_url: str):
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = connect(redis_url)
        self.clock = ManualClock()
        self.store = RedisPaymentStore(self.redis, Outbox(self.redis, Scripts(self.redis)))
        self.points = PointsService(self.store, PROGRAM, self.clock, NoBirthdaysYet())
        run = uuid.uuid4().hex[:10]
        self.paying, self.shadow = f"pa{run}", f"ps{run}"
        self.open: tuple[str, int] | None = None     # the payment awaiting its reversal: (ref, points)
        self.reversed: list[tuple[str, object]] = []
        self.serial = 0

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self):
        self.run(self.redis.aclose())
        self.loop.close()

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def ledger(self, member_id: str) -> tuple[int, int, dict]:
        account = self.run(self.redis.hgetall(keys.points_account(member_id)))
        lots = self.run(self.redis.hgetall(keys.points_lot_data(member_id)))
        expiries = dict(self.run(self.redis.zrange(keys.points_lots(member_id), 0, -1, withscores=True)))
        shown = {lot_id: (lot["remaining"], lot["expires_on"], lot["expires_at"], expiries.get(lot_id))
                 for lot_id, lot in ((i, orjson.loads(raw)) for i, raw in lots.items())}
        return int(account.get("balance", 0)), int(account.get("debt", 0)), shown

    def pay(self, member_id: str, points: int, ref: str):
        return self.run(self.store.pay(member_id, points, REDEMPTION_PREFIX + ref, PAYING, self.clock.now()))

    def available(self) -> int:
        return self.run(self.store.available(self.paying, self.clock.now()))

    # -- operations -----------------------------------------------------------------------------
    @rule(fen=st.integers(1, 300_000))
    def purchase(self, fen):
        txn = self.next_id("t")
        for member_id in (self.paying, self.shadow):
            self.run(self.points.purchase(member_id, Purchase(txn, Decimal(fen) / 100, self.clock.now()), f"fp{txn}"))

    @rule(days=st.integers(1, 200))
    def time_passes_and_the_expiry_job_runs(self, days):
        self.clock.advance(days=days)
        for member_id in (self.paying, self.shadow):
            self.run(self.points.expire(member_id))

    @precondition(lambda self: self.open is None)
    @rule(share=st.floats(0.01, 1.0))
    def a_payment_kept(self, share):
        points = int(self.available() * share) // 100 * 100
        if points < RULES.min_points:
            return
        ref = self.next_id("k")
        for member_id in (self.paying, self.shadow):
            assert self.pay(member_id, check_points(points, None, RULES), ref).points == points

    @precondition(lambda self: self.open is None)
    @rule(share=st.floats(0.01, 1.0))
    def a_payment_later_reversed(self, share):
        points = max(int(self.available() * share), RULES.min_points)
        ref = self.next_id("r")
        try:
            change = self.pay(self.paying, points, ref)
        except errors.InsufficientPoints:
            return
        assert change.points == points
        self.open = (ref, points)

    @rule(extra=st.integers(1, 5000))
    def a_payment_over_the_balance_is_refused_and_changes_nothing(self, extra):
        before = self.ledger(self.paying)
        try:
            self.pay(self.paying, self.available() + extra, self.next_id("x"))
        except errors.InsufficientPoints:
            pass
        else:
            raise AssertionError("a payment over the balance was accepted")
        assert self.ledger(self.paying) == before

    @precondition(lambda self: self.open is not None)
    @rule()
    def the_sale_is_cancelled(self):
        ref, points = self.open
        change = self.run(self.store.restore(self.paying, REDEMPTION_PREFIX + ref, self.clock.now()))
        assert change is not None and change.points == points and not change.replayed
        self.open = None
        self.reversed.append((ref, change))

    @precondition(lambda self: bool(self.reversed))
    @rule(data=st.data())
    def a_reversal_again_changes_nothing(self, data):
        ref, first = data.draw(st.sampled_from(self.reversed))
        before = self.ledger(self.paying)
        again = self.run(self.store.restore(self.paying, REDEMPTION_PREFIX + ref, self.clock.now()))
        assert again.replayed and (again.points, again.balance) == (first.points, first.balance)
        assert self.ledger(self.paying) == before

    # -- what must hold -------------------------------------------------------------------------
    @invariant()
    def the_balance_is_its_lots_and_never_negative(self):
        balance, debt, lots = self.ledger(self.paying)
        assert balance == sum(remaining for remaining, *_ in lots.values()) >= 0
        assert debt == 0

    @invariant()
    def without_an_open_payment_both_ledgers_are_equal(self):
        if self.open is None:
            assert self.ledger(self.paying) == self.ledger(self.shadow)


def test_a_reversed_payment_leaves_balance_lots_and_expiry_as_if_never_paid(redis_url):
    run_state_machine_as_test(lambda: PaymentMachine(redis_url),
                              settings=settings(max_examples=150, stateful_step_count=25, deadline=None))

