"""Redeeming points for catalogue items: browsing, the offer to confirm, and the redemption saga.

A member's points and an item's stock live in different slots, so a redemption is a saga of
idempotent steps, all keyed by the redemption id (the id of the pending choice the member confirmed):
1. reserve one unit of stock (item slot: a reservation record, indexed by reservation time);
2. spend the points (member slot, the ledger; once per redemption id);
3. fulfil: issue the coupon / voucher, or draw the lottery prize (deterministic in the redemption id),
   and record the outcome with the `reward_redeemed` event (member slot, once);
4. confirm the reservation (item slot).
A refusal on the way (sold out, not enough points, a coupon limit) releases the reservation and, if
the points were spent, gives them back. Repeating the whole saga (a double-tapped 确认) repeats each
step idempotently and gives the same redemption.

The sweeper settles what a crashed process left: a reservation still open after the timeout. It
decides in the member's slot, atomically, whether the points were spent (`void_unless_spent`):
- not spent: the spend is voided (a late spend of that redemption id is refused), the stock released;
- spent: the redemption is completed (rolled forward: fulfilled and confirmed), as the member paid.
Both keep Σ balances + Σ spent constant, and stock + sold + held equal to the initial stock.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Protocol

from . import errors
from .catalogue import CatalogueItem, Listed, draw, listing, on_sale, tier_reaches
from .clock import MALL_TZ, Clock
from .coupon_codes import grouped
from .coupon_rules import CouponTemplate
from .coupons import CouponService, TierLookup
from .member_day import is_member_day, not_member_day
from .pending import PendingChoice, PendingChoices
from .points import PointsService, walk_index
from .points_reversal import SpendReversals
from .program import Program

log = logging.getLogger("loyalty_core.redemption")

REDEEM_KIND = "redeem"                  # the pending-choice kind of a redemption offer
LISTING_KEPT = timedelta(minutes=30)
# A settled reservation answers repeats of its redemption; they come only while the pending choice that
# carries the redemption id lives (an hour or two), so after this its record is forgotten.
RESERVATION_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class CataloguePage:
    balance: int
    lines: tuple[Listed, ...]           # this page's lines (numbered over the whole list)
    page: int
    pages: int

    @property
    def has_more(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class Offer:
    item: CatalogueItem
    balance: int
    balance_after: int
    choice: PendingChoice

    @property
    def valid_minutes(self) -> int:
        return max(1, round((self.choice.expires_at - self.choice.offered_at).total_seconds() / 60))


@dataclass(frozen=True)
class Outcome:
    kind: str                           # coupon | voucher | points | nothing
    title: str                          # what the member received (or the "no prize" title)
    coupon_code: str = ""
    points: int = 0                     # bonus points won in a draw

    @property
    def grouped_code(self) -> str:
        return grouped(self.coupon_code) if self.coupon_code else ""


@dataclass(frozen=True)
class Redemption:
    redemption_id: str
    item: CatalogueItem
    points: int
    balance: int                        # after the redemption (and after any points it won)
    outcome: Outcome


@dataclass(frozen=True)
class Reservation:
    reservation_id: str                 # = the redemption id
    item_id: str
    member_id: str
    points: int
    state: str                          # reserved | confirmed | released
    reason: str = ""                    # why it was released


@dataclass(frozen=True)
class SweepReport:
    released: int = 0                   # points never spent: stock back
    completed: int = 0                  # points spent: the redemption finished
    reversed: int = 0                   # points spent but the reward could not be issued: points back
    failed: int = 0                     # could not be settled this round (logged): left open for the next


class CatalogueStore(Protocol):
    async def item_defs(self) -> list[dict]: ...
    async def item_def(self, item_id: str) -> dict | None: ...
    async def add_item_def(self, item_id: str, raw: dict) -> bool: ...
    async def stock_left(self, items: list[tuple[str, int | None]]) -> dict[str, int | None]: ...
    async def stock(self, item_id: str) -> dict: ...
    async def member_count(self, item_id: str, member_id: str) -> int:
        """The member's redemptions of the item reserved or confirmed (what its per-member limit counts)."""
    async def reserve(self, item_id: str, reservation_id: str, member_id: str, points: int, initial: int | None,
                      per_member_limit: int, now: datetime) -> Reservation:
        """The reservation (the first one on a replay, whatever its state); raises SoldOut, ItemLimitReached."""
    async def confirm(self, item_id: str, reservation_id: str, now: datetime) -> None:
        """Raises the refusal the reservation was released for (RedemptionLapsed when it gave none)."""
    async def release(self, item_id: str, reservation_id: str, reason: str, now: datetime) -> bool:
        """False when there is nothing to release (never reserved, or confirmed)."""
    async def reservation(self, item_id: str, reservation_id: str) -> Reservation | None: ...
    async def open_reservations(self, item_id: str, reserved_before: datetime, limit: int,
                                offset: int = 0) -> list[str]: ...
    async def forget_settled(self, item_id: str, settled_before: datetime, limit: int) -> int: ...
    async def record_outcome(self, member_id: str, redemption_id: str, outcome: dict, event: dict,
                             now: datetime) -> Outcome:
        """The outcome recorded for the redemption: this one, or the first one on a replay."""
    async def outcome(self, member_id: str, redemption_id: str) -> Outcome | None: ...
    async def save_listing(self, member_id: str, listing: dict, keep: timedelta) -> None: ...
    async def listing(self, member_id: str) -> dict | None: ...


class RedemptionService:
    def __init__(self, store: CatalogueStore, points: PointsService, reversals: SpendReversals,
                 coupons: CouponService, tiers: TierLookup, pending: PendingChoices, program: Program, clock: Clock):
        self._store = store
        self._points = points
        self._reversals = reversals
        self._coupons = coupons
        self._tiers = tiers
        self._pending = pending
        self.program = program
        self._clock = clock

    # -- the catalogue ---------------------------------------------------------------------------------
    async def items(self) -> list[CatalogueItem]:
        """The program file's items, then those made through the admin API."""
        made = [CatalogueItem.from_dict(raw) for raw in await self._store.item_defs()]
        return [*self.program.catalogue.items, *sorted(made, key=lambda i: i.id)]

    async def item(self, item_id: str) -> CatalogueItem:
        item = self.program.catalogue.item(item_id)
        if item is None:
            raw = await self._store.item_def(item_id)
            item = CatalogueItem.from_dict(raw) if raw else None
        if item is None:
            raise errors.UnknownItem()
        return item

    async def create_item(self, item: CatalogueItem) -> CatalogueItem:
        """Store an item made through the admin API; its id must be new and its templates known."""
        for template_id in {item.template, *(p.template for p in item.prizes)} - {""}:
            await self._coupons.template(template_id)
        if item.min_tier and item.min_tier not in self._tier_order:
            raise errors.InvalidDefinition(f"min_tier: unknown tier {item.min_tier!r}")
        if self.program.catalogue.item(item.id) or not await self._store.add_item_def(item.id, item.to_dict()):
            raise errors.DefinitionExists()
        return item

    async def stock(self, item_id: str) -> dict:
        """The item's stock counters: left (limited items, once used), held (reserved now), sold."""
        return {"held": 0, "sold": 0} | await self._store.stock(item_id)

    async def browse(self, member_id: str, *, next_page: bool = False) -> CataloguePage:
        """The numbered catalogue for this member, a page at a time: 兑换, then 兑换 下一页."""
        now = self._clock.now()
        balance, tier = await self._balance(member_id, now), await self._tier(member_id, now)
        items = await self.items()
        left = await self._store.stock_left([(i.id, i.stock) for i in items])
        lines = listing(items, balance, tier, self._tier_order, now, left, member_day=self._member_day(now))
        size = self.program.catalogue.page_size
        pages = max(1, -(-len(lines) // size))
        shown = await self._store.listing(member_id) if next_page else None
        page = min(shown["page"] + 1, pages) if shown else 1
        await self._store.save_listing(member_id, {"ids": [line.item.id for line in lines], "page": page},
                                       LISTING_KEPT)
        return CataloguePage(balance, tuple(lines[(page - 1) * size:page * size]), page, pages)

    async def offer(self, member_id: str, number: int) -> Offer:
        """兑换 <n>: the item numbered n in the list last shown, offered for 确认 within the window at its
        price now (the choice carries it: 确认 charges that or nothing)."""
        shown = await self._store.listing(member_id)
        ids = shown["ids"] if shown else [line.item.id for line in await self._fresh_listing(member_id)]
        if not 1 <= number <= len(ids):
            raise errors.NoSuchListing(count=len(ids))
        item = await self.item(ids[number - 1])
        now = self._clock.now()
        await self._check_open(item, member_id, now)
        if item.per_member_limit and await self._store.member_count(item.id, member_id) >= item.per_member_limit:
            raise errors.ItemLimitReached(title=item.title)
        balance = await self._balance(member_id, now)
        if item.points > balance:
            raise errors.InsufficientPoints(available=balance, needed=item.points)
        left = (await self._store.stock_left([(item.id, item.stock)]))[item.id]
        if left is not None and left <= 0:
            raise errors.SoldOut(title=item.title)
        choice = await self._pending.offer(member_id, REDEEM_KIND, {"item_id": item.id, "points": item.points},
                                           f"兑换「{item.title}」", window=self.program.catalogue.confirm_window)
        return Offer(item, balance, balance - item.points, choice)

    async def _fresh_listing(self, member_id: str) -> list[Listed]:
        now = self._clock.now()
        items = await self.items()
        left = await self._store.stock_left([(i.id, i.stock) for i in items])
        return listing(items, await self._balance(member_id, now), await self._tier(member_id, now),
                       self._tier_order, now, left, member_day=self._member_day(now))

    # -- the saga ----------------------------------------------------------------------------------------
    async def redeem(self, member_id: str, item_id: str, redemption_id: str,
                     offered_points: int | None = None) -> Redemption:
        """Redeem the item once per redemption id (a repeat gives the same redemption), for `offered_points`
        when given (the price the member was shown). Raises SoldOut, ItemLimitReached, InsufficientPoints,
        NotOnSale, TierTooLow, PriceChanged, coupon limits, RedemptionLapsed."""
        item = await self.item(item_id)
        reservation = await self.reserve(member_id, item, redemption_id, offered_points)
        try:
            balance = await self.pay(reservation)
            outcome = await self.fulfil(reservation, item)
            await self.confirm(reservation)
        except errors.DomainError as refusal:
            await self.abandon(reservation, refusal.code)
            raise
        return Redemption(redemption_id, item, reservation.points, balance + outcome.points, outcome)

    async def reserve(self, member_id: str, item: CatalogueItem, redemption_id: str,
                      offered_points: int | None = None) -> Reservation:
        """Step 1: one unit of stock held for this redemption (a repeat finds the same reservation, even
        once the item is off sale or its price changed). Refused, changing nothing, when the item's price
        is no longer the `offered_points` the member was shown."""
        now = self._clock.now()
        if await self._store.reservation(item.id, redemption_id) is None:
            await self._check_open(item, member_id, now)
            if offered_points is not None and offered_points != item.points:
                raise errors.PriceChanged(title=item.title, points=item.points)
        try:
            reservation = await self._store.reserve(item.id, redemption_id, member_id, item.points, item.stock,
                                                    item.per_member_limit, now)
        except (errors.SoldOut, errors.ItemLimitReached) as refused:
            raise type(refused)(title=item.title) from None
        if reservation.state == "released":   # this redemption was refused or abandoned before
            raise errors.from_code(reservation.reason or "redemption_lapsed")
        return reservation

    async def pay(self, reservation: Reservation) -> int:
        """Step 2: spend the points (once per redemption id). Returns the balance after."""
        change = await self._points.spend(reservation.member_id, reservation.points, reservation.reservation_id)
        return change.balance   # (RedemptionLapsed when the sweeper voided this redemption's spend meanwhile)

    async def fulfil(self, reservation: Reservation, item: CatalogueItem) -> Outcome:
        """Step 3: give the member what the item is, once; the outcome is recorded with reward_redeemed."""
        member_id, redemption_id = reservation.member_id, reservation.reservation_id
        recorded = await self._store.outcome(member_id, redemption_id)
        if recorded is not None:
            return recorded
        if await self._reversals.state(member_id, redemption_id) != "spent":
            raise errors.RedemptionLapsed()
        outcome = await self._deliver(member_id, item, redemption_id)
        event = {"item_id": item.id, "title": item.title, "kind": item.kind, "points": item.points,
                 "outcome": outcome.kind, "prize": outcome.title, "code_tail": outcome.coupon_code[-4:]}
        return await self._store.record_outcome(member_id, redemption_id, asdict(outcome), event, self._clock.now())

    async def _deliver(self, member_id: str, item: CatalogueItem, redemption_id: str) -> Outcome:
        issue_key, source = f"redeem:{redemption_id}", f"redeem:{item.id}"
        if item.kind == "coupon":
            coupon = await self._coupons.issue(member_id, item.template, issue_key, source=source)
            return Outcome("coupon", coupon.template.title, coupon.code)
        if item.kind == "voucher":
            template = CouponTemplate(id=f"item-{item.id}", title=item.title, kind="voucher", gift=item.voucher,
                                      valid_days=item.valid_days)
            coupon = await self._coupons.issue_template(member_id, template, issue_key, source=source)
            return Outcome("voucher", item.title, coupon.code)
        prize = draw(item.prizes, redemption_id)
        if prize.template:
            coupon = await self._coupons.issue(member_id, prize.template, issue_key, source=source)
            return Outcome("coupon", prize.title, coupon.code)
        if prize.points:
            await self._points.grant(member_id, prize.points, "lottery", redemption_id)
            return Outcome("points", prize.title, points=prize.points)
        return Outcome("nothing", prize.title)

    async def confirm(self, reservation: Reservation) -> None:
        """Step 4: the unit is sold."""
        await self._store.confirm(reservation.item_id, reservation.reservation_id, self._clock.now())

    async def abandon(self, reservation: Reservation, reason: str) -> None:
        """Compensate: give the points back if they were spent, then release the stock."""
        await self._reversals.reverse(reservation.member_id, reservation.reservation_id)
        await self._store.release(reservation.item_id, reservation.reservation_id, reason, self._clock.now())

    # -- the sweeper ---------------------------------------------------------------------------------------
    async def sweep(self, now: datetime | None = None, batch: int = 200) -> SweepReport:
        """The job: settle every reservation open for longer than the timeout (a crashed redemption),
        and forget the records of reservations settled long ago. One that fails to settle is logged and
        stays open for the next round; the walk goes on past it."""
        now = now or self._clock.now()
        before = now - self.program.catalogue.reservation_timeout
        outcomes: Counter[str] = Counter()
        for item in await self.items():
            async for reservation_id in walk_index(self._open_reservations(item.id, before, batch), batch):
                outcomes[await self._settle_or_skip(item, reservation_id)] += 1
            await self._store.forget_settled(item.id, now - RESERVATION_KEPT, batch)
        return SweepReport(**outcomes)

    def _open_reservations(self, item_id: str, before: datetime,
                           batch: int) -> Callable[[int], Awaitable[list[str]]]:
        """A page of the item's reservations open since before `before`, from an offset (for walk_index)."""
        return lambda offset: self._store.open_reservations(item_id, before, batch, offset)

    async def _settle_or_skip(self, item: CatalogueItem, reservation_id: str) -> str:
        try:
            return await self._settle_abandoned(item, await self._store.reservation(item.id, reservation_id))
        except Exception as error:  # noqa: BLE001 - one bad reservation must not hold back the others
            log.error("reservation %s of item %s not settled (%s)", reservation_id, item.id, type(error).__name__)
            return "failed"

    async def _settle_abandoned(self, item: CatalogueItem, reservation: Reservation) -> str:
        if not await self._reversals.void_unless_spent(reservation.member_id, reservation.reservation_id):
            await self._store.release(item.id, reservation.reservation_id, "redemption_lapsed", self._clock.now())
            return "released"
        try:
            await self.fulfil(reservation, item)
            await self.confirm(reservation)
        except errors.DomainError as refusal:
            await self.abandon(reservation, refusal.code)
            return "reversed"
        return "completed"

    # -- helpers -----------------------------------------------------------------------------------------
    @property
    def _tier_order(self) -> list[str]:
        return [t.code for t in self.program.tiers]

    async def _check_open(self, item: CatalogueItem, member_id: str, now: datetime) -> None:
        if not on_sale(item, now):
            raise errors.NotOnSale(title=item.title)
        if item.member_day_only and not self._member_day(now):
            raise not_member_day(now.astimezone(MALL_TZ).date(), self.program.promotions.member_day)
        if item.min_tier and not tier_reaches(await self._tier(member_id, now), item.min_tier, self._tier_order):
            raise errors.TierTooLow(tier=self.program.tier(item.min_tier).name)

    def _member_day(self, now: datetime) -> bool:
        return is_member_day(now.astimezone(MALL_TZ).date(), self.program.promotions.member_day)

    async def _balance(self, member_id: str, now: datetime) -> int:
        return (await self._points.summary(member_id, now)).balance

    async def _tier(self, member_id: str, now: datetime) -> str:
        return (await self._tiers.status(member_id, now)).tier.code
