"""The ledger's invariants under random sequences of operations, against the real Redis store.

The state machine is synchronous and the store asynchronous: each machine runs its own event loop
and Redis client, closed in teardown. Each example uses a member of its own.
"""
from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from decimal import Decimal

import orjson
import pytest
import redis.asyncio as aioredis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from bot.services import NoBirthdaysYet
from loyalty_core import errors, keys
from loyalty_core.clock import ManualClock
from loyalty_core.points import PointsService, Purchase
from loyalty_core.program import load_program
from loyalty_core.redis_store.ledger import RedisLedgerStore
from loyalty_core.redis_store.outbox import Outbox
from loyalty_core.redis_store.scripts import Scripts
from loyalty_core.tiers import TierService

PROGRAM = load_program()


async def snapshot(redis, member_id: str) -> dict:
    """The member's ledger keys by content, in one round trip (DUMP bytes of a hash may change while
    Redis rehashes it, so contents are compared instead)."""
    async with redis.pipeline(transaction=False) as pipe:
        for name in (keys.points_account(member_id), keys.points_lot_data(member_id), keys.points_ops(member_id),
                     keys.member_purchases(member_id), keys.spend_days(member_id), keys.member_outbox(member_id)):
            pipe.hgetall(name)
        pipe.zrange(keys.points_lots(member_id), 0, -1, withscores=True)
        pipe.lrange(keys.points_history(member_id), 0, -1)
        return dict(enumerate(await pipe.execute()))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, redis_url: str):
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = aioredis.from_url(redis_url, decode_responses=True)
        self.clock = ManualClock()
        self.member = f"hm{uuid.uuid4().hex[:12]}"
        self.store = RedisLedgerStore(self.redis, Outbox(self.redis, Scripts(self.redis)))
        self.points = PointsService(self.store, PROGRAM, self.clock, NoBirthdaysYet())
        self.tiers = TierService(self.store, PROGRAM, self.clock)
        self.purchases: dict[str, list[int]] = {}        # txn_id -> [amount fen, refunded fen]
        self.applied: list[tuple[str, tuple, object]] = []  # (operation, arguments, first answer)
        self.serial = 0

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self):
        self.run(self.redis.aclose())
        self.loop.close()

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def dump(self) -> dict:
        return self.run(snapshot(self.redis, self.member))

    def call(self, operation: str, args: tuple):
        return self.run(getattr(self.points, operation)(self.member, *args))

    # -- operations -----------------------------------------------------------------------------
    @rule(fen=st.one_of(st.integers(1, 50_000), st.integers(1, 6_000_000)))
    def purchase(self, fen):
        txn = self.next_id("t")
        args = (Purchase(txn, Decimal(fen) / 100, self.clock.now()), f"fp-{txn}")
        self.applied.append(("purchase", args, self.call("purchase", args)))
        self.purchases[txn] = [fen, 0]

    @precondition(lambda self: any(amount > refunded for amount, refunded in self.purchases.values()))
    @rule(data=st.data())
    def refund(self, data):
        open_txns = sorted(t for t, (amount, refunded) in self.purchases.items() if amount > refunded)
        txn = data.draw(st.sampled_from(open_txns))
        amount, refunded = self.purchases[txn]
        fen = data.draw(st.integers(1, amount - refunded))
        refund_id = self.next_id("r")
        args = (refund_id, txn, Decimal(fen) / 100, f"fp-{refund_id}")
        self.applied.append(("refund", args, self.call("refund", args)))
        self.purchases[txn][1] += fen

    @precondition(lambda self: self.purchases)
    @rule(data=st.data(), extra=st.integers(1, 10_000))
    def refund_too_much(self, data, extra):
        txn = data.draw(st.sampled_from(sorted(self.purchases)))
        amount, refunded = self.purchases[txn]
        before = self.dump()
        with pytest.raises(errors.RefundExceedsPurchase):
            self.call("refund", (self.next_id("r"), txn, Decimal(amount - refunded + extra) / 100, "fp"))
        assert self.dump() == before

    @rule(points=st.one_of(st.integers(1, 500), st.integers(1, 200_000)))
    def spend(self, points):
        args = (points, self.next_id("s"))
        before = self.dump()
        try:
            self.applied.append(("spend", args, self.call("spend", args)))
        except errors.InsufficientPoints:
            assert self.dump() == before

    @rule(keep=st.integers(0, 50))
    def spend_nearly_everything(self, keep):
        """Makes later refunds run into debt."""
        balance = self.run(self.points.summary(self.member, self.clock.now())).balance
        if balance > keep:
            args = (balance - keep, self.next_id("s"))
            self.applied.append(("spend", args, self.call("spend", args)))

    @rule(points=st.integers(1, 5_000))
    def grant(self, points):
        args = (points, "birthday", self.next_id("g"))
        self.applied.append(("grant", args, self.call("grant", args)))

    @rule(days=st.integers(1, 400))
    def time_passes_and_lots_expire(self, days):
        self.clock.advance(days=days)
        self.run(self.store.warn(self.member, self.clock.now(), self.clock.now() + timedelta(days=30)))
        self.call("expire", ())
        self.run(self.tiers.review(self.member))

    @precondition(lambda self: self.applied)
    @rule(data=st.data())
    def replay(self, data):
        operation, args, first = data.draw(st.sampled_from(self.applied))
        before = self.dump()
        again = self.call(operation, args)
        assert dataclasses.replace(again, replayed=False) == dataclasses.replace(first, replayed=False)
        assert again.replayed
        assert self.dump() == before

    # -- invariants -----------------------------------------------------------------------------
    def ledger_state(self) -> dict:
        async def read():
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hmget(keys.points_account(self.member), "balance", "debt")
                pipe.zrange(keys.points_lots(self.member), 0, -1)
                pipe.hgetall(keys.points_lot_data(self.member))
                pipe.lrange(keys.points_history(self.member), 0, -1)
                pipe.hgetall(keys.member_purchases(self.member))
                return await pipe.execute()
        (balance, debt), lot_ids, lots, history, purchases = self.run(read())
        return {"balance": int(balance or 0), "debt": int(debt or 0), "lot_ids": lot_ids,
                "lots": {k: orjson.loads(v) for k, v in lots.items()},
                "history": [orjson.loads(e) for e in history],
                "purchases": {k: orjson.loads(v) for k, v in purchases.items()}}

    @invariant()
    def ledger_invariants(self):
        state = self.ledger_state()
        balance_is_the_sum_of_the_lots_and_debt_only_at_zero(state)
        refunds_took_back_the_cumulative_share_of_points(state, self.purchases)


def balance_is_the_sum_of_the_lots_and_debt_only_at_zero(state: dict) -> None:
    lots = state["lots"]
    assert sorted(state["lot_ids"]) == sorted(lots)
    assert all(lot["remaining"] > 0 for lot in lots.values())
    assert state["balance"] == sum(lot["remaining"] for lot in lots.values())
    assert state["debt"] >= 0
    assert state["balance"] == 0 or state["debt"] == 0
    assert state["balance"] - state["debt"] == sum(entry["points"] for entry in state["history"])


def refunds_took_back_the_cumulative_share_of_points(state: dict, model: dict[str, list[int]]) -> None:
    assert sorted(state["purchases"]) == sorted(model)
    for txn, record in state["purchases"].items():
        amount, refunded = model[txn]
        assert (record["amount"], record["refunded"]) == (amount, refunded)
        assert record["clawed"] == record["points"] * refunded // amount


def test_ledger_invariants_hold_under_random_operations(redis_url):
    run_state_machine_as_test(lambda: LedgerMachine(redis_url),
                              settings=settings(max_examples=200, stateful_step_count=25, deadline=None))
