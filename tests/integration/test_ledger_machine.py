"""The ledger against a plain model of its rules, under random sequences of operations on the real
Redis store: purchases (across tier thresholds, years and leap days), partial refunds (after spends,
into debt, of last year's purchases, undoing recent upgrades), spends, grants, time passing with and without
the jobs, and replays of everything. After every step the lots (FIFO by expiry), debt, tier, the spend per day, the
leaderboards and the expiry, warning and review indexes must be what the model says, and reads must not count
lots past their expiry.

The state machine is synchronous and the store asynchronous: each machine runs its own event loop
and Redis client, closed in teardown. Each example uses a member of its own.
"""
from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import orjson
import pytest
from loyalty_core.redis_store.connection import connect
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from bot.services import NoBirthdaysYet
from loyalty_core import errors, keys
from loyalty_core.clock import MALL_TZ, ManualClock, epoch_ms
from loyalty_core.points import (
    PointsService, Purchase, add_months, clawback_target, promotion_for, purchase_points, window_start,
)
from loyalty_core.program import load_program
from loyalty_core.redis_store.ledger import RedisLedgerStore, parse_day
from loyalty_core.redis_store.outbox import Outbox
from loyalty_core.redis_store.scripts import Scripts
from loyalty_core.tiers import TierService, Upgrade, revert_upgrades, tier_for, window_spend

PROGRAM = load_program()
TIERS = PROGRAM.tiers
WINDOW = PROGRAM.tier_review.spend_window_months
LIFETIME = PROGRAM.points.lot_lifetime_months
WARNING = timedelta(days=PROGRAM.points.expiry_warning_days)
GRACE = PROGRAM.tier_review.upgrade_grace
# Purchases (fen) exactly at and just below the tier thresholds.
AT_THRESHOLDS = sorted({fen for tier in TIERS[1:] for fen in (tier.threshold_fen, tier.threshold_fen - 1)})
# Moments the calendar rules are easy to get wrong at: year ends, leap days, month ends.
BOUNDARIES = [(12, 31, 23, 59), (1, 1, 0, 1), (2, 28, 12, 0), (2, 29, 12, 0), (3, 1, 0, 1), (1, 31, 12, 0)]


# -- the model: the rules restated plainly ----------------------------------------------------------
@dataclasses.dataclass
class Lot:
    expires_ms: int
    remaining: int


@dataclasses.dataclass
class Upgraded:
    upgrade: Upgrade
    lot: int | None      # the lot its rewards were credited to
    year: int


@dataclasses.dataclass
class Bought:
    amount: int          # fen
    points: int
    lot: int | None
    day: date
    year: int
    refunded: int = 0
    clawed: int = 0


class Model:
    """Lots numbered in order of creation (as the store numbers them), spent in order of expiry; earnings
    pay the debt first; tiers rise with the window's spend and fall only at review, or by a refund undoing
    an upgrade inside its grace period (loyalty_core.tiers.revert_upgrades)."""

    def __init__(self):
        self.lots: dict[int, Lot] = {}
        self.created = 0
        self.debt = 0
        self.tier = 0                                  # position in TIERS
        self.rewarded: set[str] = set()
        self.review_on: date | None = None
        self.days: dict[date, int] = {}                # spend per day, fen
        self.purchases: dict[str, Bought] = {}
        self.earned: dict[int, int] = {}               # points earned per calendar year
        self.warned_until = 0                          # epoch ms
        self.upgrades: list[Upgraded] = []             # inside their grace period, oldest first

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots.values())

    def live(self, now: datetime) -> int:
        return sum(lot.remaining for lot in self.lots.values() if lot.expires_ms > epoch_ms(now))

    def in_expiry_order(self) -> list[int]:
        return sorted(self.lots, key=lambda n: (self.lots[n].expires_ms, n))

    def sweep(self, now: datetime) -> int:
        due = [n for n, lot in self.lots.items() if lot.expires_ms <= epoch_ms(now)]
        return sum(self.lots.pop(n).remaining for n in due)

    def credit(self, points: int, now: datetime) -> int | None:
        repaid = min(self.debt, points)
        self.debt -= repaid
        self.earned[now.year] = self.earned.get(now.year, 0) + points
        if points == repaid:
            return None
        self.created += 1
        self.lots[self.created] = Lot(epoch_ms(add_months(now, LIFETIME)), points - repaid)
        return self.created

    def take(self, points: int, first: int | None = None) -> int:
        left = points
        for n in ([first] if first in self.lots else []) + self.in_expiry_order():
            if n in self.lots and left:
                taken = min(left, self.lots[n].remaining)
                self.lots[n].remaining -= taken
                left -= taken
                if not self.lots[n].remaining:
                    del self.lots[n]
        return points - left

    def window(self, today: date) -> Decimal:
        """The spend inside the window; the days before it are forgotten (the store keeps no others)."""
        start = window_start(today, WINDOW)
        self.days = {day: fen for day, fen in self.days.items() if day >= start}
        return window_spend(self.days, today, WINDOW)

    def purchase(self, txn: str, fen: int, now: datetime) -> int:
        """Returns the points the purchase earns."""
        today = now.date()
        self.sweep(now)
        self.days[today] = self.days.get(today, 0) + fen
        amount = Decimal(fen) / 100
        promotion = promotion_for(today, PROGRAM.promotions, in_birthday_window=False)
        points = purchase_points(amount, TIERS[self.tier], promotion, PROGRAM.points)   # at the tier before
        lot = self.credit(points, now)
        reached = TIERS.index(tier_for(self.window(today), PROGRAM))
        if reached > self.tier:
            rewards = []
            for tier in TIERS[self.tier + 1:reached + 1]:
                if tier.upgrade_reward and tier.code not in self.rewarded:
                    self.rewarded.add(tier.code)
                    rewards.append((tier.code, tier.upgrade_reward))
            reward_lot = self.credit(sum(p for _, p in rewards), now) if rewards else None
            self.upgrades = [u for u in self.upgrades if now - u.upgrade.at <= GRACE]
            if GRACE:
                upgrade = Upgrade(now, TIERS[self.tier].code, TIERS[reached].code, tuple(rewards), self.review_on)
                self.upgrades.append(Upgraded(upgrade, reward_lot, now.year))
            self.tier, self.review_on = reached, add_months(today, PROGRAM.tier_review.review_interval_months)
        self.purchases[txn] = Bought(fen, points, lot, today, now.year)
        return points

    def refund(self, txn: str, fen: int, now: datetime) -> int:
        """Returns the points taken back."""
        self.sweep(now)
        bought = self.purchases[txn]
        target = clawback_target(bought.points, bought.amount, bought.refunded + fen)
        clawback = target - bought.clawed
        self.debt += clawback - self.take(clawback, bought.lot)
        if bought.day >= window_start(now.date(), WINDOW) and bought.day in self.days:
            self.days[bought.day] -= fen
            if self.days[bought.day] <= 0:
                del self.days[bought.day]
        self.earned[bought.year] -= clawback
        bought.refunded, bought.clawed = bought.refunded + fen, target
        self.revert_upgrades(now)
        return clawback

    def revert_upgrades(self, now: datetime) -> None:
        granted = {code: entry for entry in self.upgrades for code, _ in entry.upgrade.rewards}
        reverted = revert_upgrades(tuple(u.upgrade for u in self.upgrades), TIERS[self.tier].code,
                                   self.window(now.date()), now, PROGRAM)
        for code, points in reverted.taken_back:
            entry = granted[code]
            self.debt += points - self.take(points, entry.lot)
            self.earned[entry.year] -= points
            self.rewarded.discard(code)
        # the upgrades that stand are the first ones, in order (the last one perhaps reduced)
        self.upgrades = [dataclasses.replace(entry, upgrade=upgrade)
                         for entry, upgrade in zip(self.upgrades, reverted.standing)]
        self.tier = [t.code for t in TIERS].index(reverted.tier)
        if reverted.undone:
            self.review_on = reverted.undone[-1].review_before

    def spend(self, points: int, now: datetime) -> None:
        self.sweep(now)
        self.take(points)

    def warn(self, now: datetime, horizon: datetime) -> None:
        if epoch_ms(horizon) > max(self.warned_until, epoch_ms(now)):
            self.warned_until = epoch_ms(horizon)

    def review(self, today: date) -> tuple[bool, str] | None:
        """(kept, tier after) on a review day, None on other days."""
        if self.review_on is None or self.review_on > today:
            return None
        qualifying = TIERS.index(tier_for(self.window(today), PROGRAM))
        kept = qualifying >= self.tier
        if not kept:
            self.tier = qualifying
        next_review = add_months(self.review_on, PROGRAM.tier_review.review_interval_months)
        self.review_on = next_review if self.tier else None
        self.upgrades = []
        return kept, TIERS[self.tier].code


# -- the machine ------------------------------------------------------------------------------------
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
        self.redis = connect(redis_url)
        self.clock = ManualClock()
        self.member = f"hm{uuid.uuid4().hex[:12]}"
        self.store = RedisLedgerStore(self.redis, Outbox(self.redis, Scripts(self.redis)))
        self.points = PointsService(self.store, PROGRAM, self.clock, NoBirthdaysYet())
        self.tiers = TierService(self.store, PROGRAM, self.clock)
        self.model = Model()
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

    def apply(self, operation: str, args: tuple):
        answer = self.call(operation, args)
        self.applied.append((operation, args, answer))
        return answer

    # -- operations -----------------------------------------------------------------------------
    @rule(fen=st.one_of(st.integers(1, 50_000), st.integers(1, 6_000_000), st.sampled_from(AT_THRESHOLDS)))
    def purchase(self, fen):
        txn, now = self.next_id("t"), self.clock.now()
        answer = self.apply("purchase", (Purchase(txn, Decimal(fen) / 100, now), f"fp-{txn}"))
        assert answer.points_earned == self.model.purchase(txn, fen, now)
        assert (answer.tier, answer.balance) == (TIERS[self.model.tier].code, self.model.balance)

    @precondition(lambda self: any(p.amount > p.refunded for p in self.model.purchases.values()))
    @rule(data=st.data())
    def refund(self, data):
        txn = data.draw(st.sampled_from(sorted(t for t, p in self.model.purchases.items() if p.amount > p.refunded)))
        bought = self.model.purchases[txn]
        fen = data.draw(st.one_of(st.integers(1, bought.amount - bought.refunded),
                                  st.just(bought.amount - bought.refunded)))
        refund_id = self.next_id("r")
        answer = self.apply("refund", (refund_id, txn, Decimal(fen) / 100, f"fp-{refund_id}"))
        assert answer.points_reversed == self.model.refund(txn, fen, self.clock.now())
        assert (answer.balance, answer.debt, answer.tier) == \
            (self.model.balance, self.model.debt, TIERS[self.model.tier].code)

    @precondition(lambda self: self.model.purchases)
    @rule(data=st.data(), extra=st.integers(1, 10_000))
    def refund_too_much(self, data, extra):
        txn = data.draw(st.sampled_from(sorted(self.model.purchases)))
        bought = self.model.purchases[txn]
        before = self.dump()
        with pytest.raises(errors.RefundExceedsPurchase):
            self.call("refund", (self.next_id("r"), txn, Decimal(bought.amount - bought.refunded + extra) / 100, "fp"))
        assert self.dump() == before

    @rule(points=st.one_of(st.integers(1, 500), st.integers(1, 200_000)))
    def spend(self, points):
        args, now = (points, self.next_id("s")), self.clock.now()
        if points > self.model.live(now):
            before = self.dump()
            with pytest.raises(errors.InsufficientPoints):
                self.call("spend", args)
            assert self.dump() == before
            return
        self.model.spend(points, now)
        assert self.apply("spend", args).balance == self.model.balance

    @rule(keep=st.integers(0, 50))
    def spend_nearly_everything(self, keep):
        """Makes later refunds run into debt."""
        available = self.model.live(self.clock.now())
        if available > keep:
            self.spend(available - keep)

    @rule(points=st.integers(1, 5_000))
    def grant(self, points):
        now = self.clock.now()
        self.model.sweep(now)
        self.model.credit(points, now)
        assert self.apply("grant", (points, "birthday", self.next_id("g"))).balance == self.model.balance

    @rule(days=st.integers(1, 400), minutes=st.integers(0, 24 * 60))
    def time_passes(self, days, minutes):
        """Lots may pass their expiry with no job run: reads and writes must not count them."""
        self.clock.advance(days=days, minutes=minutes)

    @rule(days=st.integers(0, GRACE.days + 2), hours=st.integers(0, 23))
    def a_little_time_passes(self, days, hours):
        """Refunds inside and just past an upgrade's grace period."""
        self.clock.advance(days=days, hours=hours)

    @rule(boundary=st.sampled_from(BOUNDARIES))
    def time_passes_to_a_calendar_boundary(self, boundary):
        month, day, hour, minute = boundary
        now, year = self.clock.now(), self.clock.now().year
        while True:
            try:
                moment = datetime(year, month, day, hour, minute, tzinfo=MALL_TZ)
            except ValueError:                       # Feb 29 of a common year
                moment = now
            if moment > now:
                break
            year += 1
        self.clock.set(moment)

    @precondition(lambda self: self.model.review_on and self.model.review_on > self.clock.now().date())
    @rule(minutes=st.integers(0, 24 * 60 - 1))
    def time_passes_to_the_review_day(self, minutes):
        self.clock.set(datetime.combine(self.model.review_on, time(), MALL_TZ) + timedelta(minutes=minutes))

    @precondition(lambda self: self.model.purchases)
    @rule(data=st.data(), counted=st.booleans())
    def time_passes_to_the_edge_of_a_purchases_window(self, data, counted):
        """To the last day a purchase's spend counts for the tier, or the first day it no longer does."""
        bought = self.model.purchases[data.draw(st.sampled_from(sorted(self.model.purchases)))]
        around = add_months(bought.day, WINDOW)
        days = [around + timedelta(days=n) for n in range(-3, 4)]
        edge = max(d for d in days if window_start(d, WINDOW) <= bought.day) if counted else \
            min(d for d in days if window_start(d, WINDOW) > bought.day)
        moment = datetime.combine(edge, time(10), MALL_TZ)
        if moment > self.clock.now():
            self.clock.set(moment)

    @rule()
    def the_jobs_run(self):
        now = self.clock.now()
        self.run(self.store.warn(self.member, now, now + WARNING))
        self.model.warn(now, now + WARNING)
        assert self.call("expire", ()) == self.model.sweep(now)
        result = self.run(self.tiers.review(self.member))
        expected = self.model.review(now.date())
        assert result.due == (expected is not None)
        if expected is not None:
            assert (result.kept, result.to_tier) == expected

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
            years = sorted(self.model.earned)
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hmget(keys.points_account(self.member), "balance", "debt", "tier")
                pipe.zrange(keys.points_lots(self.member), 0, -1, withscores=True)
                pipe.hgetall(keys.points_lot_data(self.member))
                pipe.lrange(keys.points_history(self.member), 0, -1)
                pipe.hgetall(keys.member_purchases(self.member))
                part = keys.ledger_partition(self.member)
                pipe.zscore(keys.points_expiry_index(part), self.member)
                pipe.zscore(keys.points_warn_index(part), self.member)
                pipe.zscore(keys.tier_review_index(part), self.member)
                pipe.hgetall(keys.spend_days(self.member))
                for year in years:
                    pipe.zscore(keys.points_leaderboard(year, part), self.member)
                account, lots, lot_data, history, purchases, expiry, warn, review, days, *boards = \
                    await pipe.execute()
            return {"balance": int(account[0] or 0), "debt": int(account[1] or 0), "tier": account[2],
                    "lots": [(int(n), int(score)) for n, score in lots],
                    "lot_data": {int(n): orjson.loads(v) for n, v in lot_data.items()},
                    "history": [orjson.loads(e) for e in history],
                    "purchases": {k: orjson.loads(v) for k, v in purchases.items()},
                    "expiry_index": expiry, "warn_index": warn, "review_index": review,
                    "boards": dict(zip(years, boards)), "days": {parse_day(d): int(fen) for d, fen in days.items()},
                    "summary": await self.points.summary(self.member, self.clock.now())}
        return self.run(read())

    @invariant()
    def the_ledger_is_what_the_model_says(self):
        state, model = self.ledger_state(), self.model
        assert state["lots"] == [(n, model.lots[n].expires_ms) for n in model.in_expiry_order()]
        assert {n: lot["remaining"] for n, lot in state["lot_data"].items()} == \
            {n: lot.remaining for n, lot in model.lots.items()}
        assert (state["balance"], state["debt"]) == (model.balance, model.debt)
        assert (state["tier"] or TIERS[0].code) == TIERS[model.tier].code
        assert state["days"] == model.days
        assert {txn: (p["amount"], p["refunded"], p["clawed"]) for txn, p in state["purchases"].items()} == \
            {txn: (p.amount, p.refunded, p.clawed) for txn, p in model.purchases.items()}
        assert state["balance"] - state["debt"] == sum(entry["points"] for entry in state["history"])
        the_indexes_and_leaderboards_follow_the_ledger(state, model)
        reads_do_not_count_lots_past_their_expiry(state, model, self.clock.now())


def the_indexes_and_leaderboards_follow_the_ledger(state: dict, model: Model) -> None:
    earliest = min((lot.expires_ms for lot in model.lots.values()), default=None)
    unwarned = min((lot.expires_ms for lot in model.lots.values() if lot.expires_ms > model.warned_until),
                   default=None)
    assert (state["expiry_index"], state["warn_index"]) == (earliest, unwarned)
    assert state["review_index"] == (int(model.review_on.strftime("%Y%m%d")) if model.review_on else None)
    assert state["boards"] == {year: earned or None for year, earned in model.earned.items()}


def reads_do_not_count_lots_past_their_expiry(state: dict, model: Model, now: datetime) -> None:
    summary = state["summary"]
    assert (summary.balance, summary.debt) == (model.live(now), model.debt)
    assert summary.balance == 0 or summary.debt == 0


def test_the_ledger_follows_its_rules_under_random_operations(redis_url):
    run_state_machine_as_test(lambda: LedgerMachine(redis_url),
                              settings=settings(max_examples=200, stateful_step_count=30, deadline=None))
