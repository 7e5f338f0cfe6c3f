"""Points: earning from purchases, promotions, refunds, spending, expiry, the leaderboard.

Rules (pure functions below; the ledger itself lives in Redis, one Lua script per change):
- Purchase points = floor(amount × base rate × promotion multiplier × tier multiplier), whole points.
  Promotions do not multiply each other: of the promotions that apply to the purchase day (a
  double-points date or weekday, the monthly member day, the member's birthday window) only the
  highest multiplier counts; the tier multiplier then applies on top.
- Each earning is a lot that expires `lot_lifetime_months` after it was credited; spending takes the
  lots that expire first. Earnings pay any debt before they become a lot.
- A refund takes back floor(points × refunded so far ÷ amount) in total over all refunds of a
  purchase (the cumulative target, so partial refunds never drift by rounding); a full refund takes
  back exactly the purchase's points. What the balance cannot cover becomes debt; the balance never
  goes below zero.
"""
from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import AsyncIterator, Awaitable, Callable, Protocol

import orjson

from . import errors
from .clock import MALL_TZ, Clock
from .member_day import is_member_day
from .program import Program, PointsRules, Promotions, Tier

CENT = Decimal("0.01")
HISTORY_PAGE_SIZE = 10
_REF = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


# -- pure rules --------------------------------------------------------------------------------
def add_months(moment, months: int):
    """The same day and time `months` later (or earlier), clamped to the end of a shorter month."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def window_start(today: date, months: int) -> date:
    """The first day inside the tier window of `months` that ends today."""
    return add_months(today, -months) + timedelta(days=1)


def to_fen(amount: Decimal) -> int:
    return int(amount * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def check_amount(amount: Decimal, maximum: Decimal, name: str = "amount") -> Decimal:
    """A CNY amount the till may send: finite, > 0, not above the maximum, at most 2 decimals. The maximum is
    checked before the decimals: quantizing a number of more digits than Decimal's precision raises."""
    if not amount.is_finite() or amount <= 0 or amount > maximum or amount != amount.quantize(CENT):
        raise errors.InvalidAmount(f"{name} must be more than 0 and at most {maximum}, with at most 2 decimals",
                                   maximum=str(maximum))
    return amount.quantize(CENT)


def fingerprint_of(parts: list[str]) -> str:
    """A request's fingerprint: equal for equal parts (an idempotency key's replay), else different."""
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:32]


def purchase_fingerprint(purchase: "Purchase", member_id: str) -> str:
    """Equal for the same purchase however the till spelled it (and whichever way it named the member)."""
    return fingerprint_of(["purchase", purchase.txn_id, member_id, str(to_fen(purchase.amount)),
                           purchase.occurred_at.astimezone(MALL_TZ).isoformat(), purchase.category,
                           purchase.store_id])


def check_ref(value: str, name: str) -> str:
    """Ids that become part of Redis keys: 1-64 of A-Z a-z 0-9 . _ : -"""
    if not isinstance(value, str) or not _REF.fullmatch(value):
        raise errors.InvalidRequest(f"{name} must be 1-64 characters of A-Z a-z 0-9 . _ : -")
    return value


@dataclass(frozen=True)
class Promotion:
    multiplier: Decimal
    reason: str          # "" (none), "double_points_date", "double_points_weekday", "member_day", "birthday"


NO_PROMOTION = Promotion(Decimal(1), "")


def promotion_for(day: date, promotions: Promotions, *, in_birthday_window: bool) -> Promotion:
    """The one promotion that counts for a purchase on `day`: the highest applicable multiplier."""
    candidates = [NO_PROMOTION]
    if day in promotions.double_points_dates:
        candidates.append(Promotion(promotions.double_points_multiplier, "double_points_date"))
    if day.isoweekday() in promotions.double_points_weekdays:
        candidates.append(Promotion(promotions.double_points_multiplier, "double_points_weekday"))
    if is_member_day(day, promotions.member_day):
        candidates.append(Promotion(promotions.member_day_multiplier, "member_day"))
    if in_birthday_window:
        candidates.append(Promotion(promotions.birthday_multiplier, "birthday"))
    return max(candidates, key=lambda p: p.multiplier)   # first of equals: the earlier-listed reason


def purchase_points(amount: Decimal, tier: Tier, promotion: Promotion, rules: PointsRules) -> int:
    exact = amount * rules.base_rate * promotion.multiplier * tier.multiplier
    return int(exact.to_integral_value(rounding=ROUND_FLOOR))


def tiers_payload(program: Program) -> list[dict]:
    """The tiers as the ledger's scripts take them: [{code, threshold (fen)}], lowest first."""
    return [{"code": t.code, "threshold": t.threshold_fen} for t in program.tiers]


def clawback_target(points: int, amount_fen: int, refunded_fen: int) -> int:
    """Points taken back in total once `refunded_fen` of a purchase of `amount_fen` is refunded."""
    return points * refunded_fen // amount_fen


def mask_name(nickname: str, member_id: str) -> str:
    """How another member appears on the leaderboard: 王** or 会员 10**23."""
    nickname = (nickname or "").strip()
    if nickname:
        return nickname[0] + "*" * min(max(len(nickname) - 1, 1), 3)
    return f"会员 {member_id[:2]}**{member_id[-2:]}"


# -- values ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Purchase:
    txn_id: str
    amount: Decimal
    occurred_at: datetime
    category: str = ""
    store_id: str = ""


@dataclass(frozen=True)
class PurchaseResult:
    member_id: str
    points_earned: int
    balance: int
    tier: str
    replayed: bool = False


@dataclass(frozen=True)
class RefundResult:
    member_id: str
    refund_id: str
    txn_id: str
    points_reversed: int
    balance: int
    debt: int
    tier: str
    replayed: bool = False


@dataclass(frozen=True)
class LedgerChange:
    """The answer of a spend or a grant (the first answer again on a replay)."""
    member_id: str
    points: int
    balance: int
    replayed: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    kind: str            # purchase | refund | spend | grant | expire | reversal
    points: int          # change of (balance - debt)
    balance: int
    debt: int
    ref: str
    at: datetime
    source: str = ""     # for grants: tier_upgrade, birthday, referral, …


@dataclass(frozen=True)
class HistoryPage:
    entries: tuple[HistoryEntry, ...]
    page: int
    has_more: bool


@dataclass(frozen=True)
class PointsSummary:
    balance: int
    debt: int
    expiring_points: int        # within the warning period
    expiring_on: date | None    # the earliest of those expiry dates
    warning_days: int


@dataclass(frozen=True)
class BalanceView:
    """Balance and debt as of a moment (lots past their date count as gone even before the expiry job ran),
    and the lots expiring within the horizon asked for: (points, expiry date)."""
    balance: int
    debt: int
    expiring: tuple[tuple[int, date], ...]


@dataclass(frozen=True)
class BoardRead:
    """A leaderboard as stored: the top (member_id, nickname, score), one member's 1-based rank and score."""
    top: tuple[tuple[str, str, int], ...]
    my_rank: int | None
    my_score: int


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    name: str
    points: int
    is_me: bool = False


@dataclass(frozen=True)
class Leaderboard:
    year: int
    rows: tuple[LeaderboardRow, ...]
    my_rank: int | None
    my_points: int


# -- ports -------------------------------------------------------------------------------------
class BirthdayWindows(Protocol):
    async def contains(self, member_id: str, day: date) -> bool:
        """Whether `day` is inside the member's birthday window (birthday double points)."""


@dataclass(frozen=True)
class PurchaseWrite:
    """Everything the store needs to book a purchase: the rules already applied."""
    member_id: str
    txn_id: str
    fingerprint: str
    amount_fen: int
    now: datetime
    lot_expires: datetime
    day: date
    window_start: date
    next_review: date
    points_by_tier: tuple[tuple[Tier, int], ...]
    details: dict
    upgrade_grace: timedelta         # how long an upgrade this purchase makes stays revertible by a refund


class LedgerStore(Protocol):
    """The ledger's writes answer the first answer again on a replay (`replayed`), and raise the domain error
    of a refusal (InsufficientPoints, TransactionConflict, RefundExceedsPurchase, …)."""
    async def purchase(self, write: PurchaseWrite) -> PurchaseResult: ...
    async def refund(self, member_id: str, refund_id: str, txn_id: str, amount_fen: int, amount_text: str,
                     fingerprint: str, now: datetime, window_start: date, tiers: list[dict],
                     upgrade_grace: timedelta) -> RefundResult:
        """`tiers`: [{code, threshold (fen)}], lowest first, for reverting an upgrade inside `upgrade_grace`
        that the refund undoes (loyalty_core/tiers.py). `tier` is "" for a member who never left the base tier."""
    async def spend(self, member_id: str, points: int, redemption_id: str, now: datetime) -> LedgerChange: ...
    async def grant(self, member_id: str, points: int, source: str, ref: str, now: datetime,
                    expires: datetime) -> LedgerChange: ...
    async def expire(self, member_id: str, now: datetime) -> int:
        """Points expired now."""
    async def warn(self, member_id: str, now: datetime, horizon: datetime, *, last_reminder: bool = False) -> int:
        """Lots warned about now (the first warning, or the last reminder: each once per lot)."""
    # The job indexes come in this many partitions, each walked on its own (walk_partitions).
    index_partitions: int
    async def members_with_lots_expiring(self, until: datetime, partition: int, offset: int,
                                         limit: int) -> list[str]: ...
    async def members_to_warn(self, until: datetime, partition: int, offset: int, limit: int) -> list[str]: ...
    async def balance_view(self, member_id: str, now: datetime, horizon: datetime) -> BalanceView: ...
    async def history(self, member_id: str, start: int, count: int) -> tuple[list[HistoryEntry], int]: ...
    async def leaderboard(self, year: int, size: int, member_id: str) -> BoardRead: ...


# -- the service -------------------------------------------------------------------------------
class PointsService:
    def __init__(self, store: LedgerStore, program: Program, clock: Clock, birthdays: BirthdayWindows):
        self._store = store
        self.program = program
        self._clock = clock
        self._birthdays = birthdays

    async def purchase(self, member_id: str, purchase: Purchase, fingerprint: str) -> PurchaseResult:
        """Book a purchase once per txn_id (the caller has claimed the txn_id for this member)."""
        now = self._clock.now()
        day = purchase.occurred_at.astimezone(MALL_TZ).date()
        promotion = promotion_for(day, self.program.promotions,
                                  in_birthday_window=await self._birthdays.contains(member_id, day))
        rules = self.program.points
        write = PurchaseWrite(
            member_id=member_id, txn_id=purchase.txn_id, fingerprint=fingerprint,
            amount_fen=to_fen(purchase.amount), now=now,
            lot_expires=add_months(now, rules.lot_lifetime_months), day=day,
            window_start=self.window_start(now.date()),
            next_review=add_months(now.date(), self.program.tier_review.review_interval_months),
            points_by_tier=tuple((t, purchase_points(purchase.amount, t, promotion, rules)) for t in self.program.tiers),
            details={"amount": str(purchase.amount), "occurred_at": purchase.occurred_at.isoformat(),
                     "category": purchase.category, "store_id": purchase.store_id, "promotion": promotion.reason},
            upgrade_grace=self.upgrade_grace,
        )
        return await self._store.purchase(write)

    async def refund(self, member_id: str, refund_id: str, txn_id: str, amount: Decimal,
                     fingerprint: str) -> RefundResult:
        now = self._clock.now()
        result = await self._store.refund(member_id, refund_id, txn_id, to_fen(amount), str(amount), fingerprint,
                                          now, self.window_start(now.date()), tiers_payload(self.program),
                                          self.upgrade_grace)
        return replace(result, tier=result.tier or self.program.base_tier.code)

    async def spend(self, member_id: str, points: int, redemption_id: str) -> LedgerChange:
        """Spend points for a redemption, oldest expiry first; once per redemption_id.
        Raises InsufficientPoints (and changes nothing) when the balance does not cover it."""
        _check_points(points)
        return await self._store.spend(member_id, points, check_ref(redemption_id, "redemption_id"),
                                       self._clock.now())

    async def grant(self, member_id: str, points: int, source: str, ref: str) -> LedgerChange:
        """Bonus points (birthday gift, referral reward, …) as a new lot; once per ref."""
        _check_points(points)
        now = self._clock.now()
        return await self._store.grant(member_id, points, check_ref(source, "source"), check_ref(ref, "ref"),
                                       now, add_months(now, self.program.points.lot_lifetime_months))

    async def expire(self, member_id: str, now: datetime | None = None) -> int:
        """Expire the member's lots past their date; returns the points expired (0 when none)."""
        return await self._store.expire(member_id, now or self._clock.now())

    async def expire_due(self, now: datetime | None = None, batch: int = 500) -> int:
        """The expiry job: visits only the members whose earliest lot is due (the expiry index).
        Returns the points expired."""
        now = now or self._clock.now()
        total = 0
        async for member_id in walk_partitions(
                lambda part, offset: self._store.members_with_lots_expiring(now, part, offset, batch),
                self._store.index_partitions, batch):
            total += await self.expire(member_id, now)
        return total

    async def warn_expiring(self, now: datetime | None = None, batch: int = 500) -> int:
        """The warning job: a points_expiring_soon event for the lots expiring within the warning period,
        once per lot; visits only members with such a lot not warned about yet. Returns members warned."""
        now = now or self._clock.now()
        horizon = now + timedelta(days=self.program.points.expiry_warning_days)
        warned = 0
        async for member_id in walk_partitions(
                lambda part, offset: self._store.members_to_warn(horizon, part, offset, batch),
                self._store.index_partitions, batch):
            warned += await self._store.warn(member_id, now, horizon) > 0
        return warned

    async def remind_expiring(self, now: datetime | None = None, batch: int = 500) -> int:
        """The last reminder, `expiry_reminder_days` ahead, once per lot: visits the members whose earliest
        lot expires within that (the expiry index). Returns members reminded."""
        days = self.program.points.expiry_reminder_days
        if not days:
            return 0
        now = now or self._clock.now()
        horizon = now + timedelta(days=days)
        reminded = 0
        async for member_id in walk_partitions(
                lambda part, offset: self._store.members_with_lots_expiring(horizon, part, offset, batch),
                self._store.index_partitions, batch):
            reminded += await self._store.warn(member_id, now, horizon, last_reminder=True) > 0
        return reminded

    async def summary(self, member_id: str, now: datetime) -> PointsSummary:
        days = self.program.points.expiry_warning_days
        view = await self._store.balance_view(member_id, now, now + timedelta(days=days))
        return PointsSummary(
            balance=view.balance, debt=view.debt, expiring_points=sum(p for p, _ in view.expiring),
            expiring_on=min((at for _, at in view.expiring), default=None), warning_days=days)

    async def history(self, member_id: str, page: int = 1) -> HistoryPage:
        page = max(page, 1)
        entries, total = await self._store.history(member_id, (page - 1) * HISTORY_PAGE_SIZE, HISTORY_PAGE_SIZE)
        return HistoryPage(entries=tuple(entries), page=page, has_more=page * HISTORY_PAGE_SIZE < total)

    async def leaderboard(self, member_id: str, now: datetime) -> Leaderboard:
        year = now.astimezone(MALL_TZ).year
        board = await self._store.leaderboard(year, self.program.leaderboard.size, member_id)
        rows = tuple(LeaderboardRow(rank=i + 1, name=mask_name(nickname, mid), points=points, is_me=mid == member_id)
                     for i, (mid, nickname, points) in enumerate(board.top))
        return Leaderboard(year=year, rows=rows, my_rank=board.my_rank, my_points=board.my_score)

    def window_start(self, today: date) -> date:
        return window_start(today, self.program.tier_review.spend_window_months)

    @property
    def upgrade_grace(self) -> timedelta:
        return self.program.tier_review.upgrade_grace


async def walk_index(read_page: Callable[[int], Awaitable[list[str]]], batch: int) -> AsyncIterator[str]:
    """Each member due in a job's index once. A visited member leaves the due range (its next date is
    later) unless its visit failed: those stay at the head of the range, so the next page skips them."""
    seen: set[str] = set()
    stuck = 0
    while True:
        page = await read_page(stuck)
        if not page:
            return
        for member_id in page:
            if member_id in seen:
                stuck += 1
            else:
                seen.add(member_id)
                yield member_id
        if len(page) < batch:
            return


async def walk_partitions(read_page: Callable[[int, int], Awaitable[list[str]]], partitions: int,
                          batch: int) -> AsyncIterator[str]:
    """walk_index over each partition of a job's index in turn; read_page(partition, offset)."""
    for partition in range(partitions):
        async for member_id in walk_index(lambda offset, part=partition: read_page(part, offset), batch):
            yield member_id


def _check_points(points: int) -> None:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValueError("points must be a positive whole number")
