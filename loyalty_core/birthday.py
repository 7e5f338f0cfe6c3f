"""Birthday privileges: the member sets a solar or lunar birthday once (staff change it, audited); in
the birthday window the member claims the tier's gift once per year; purchases in the window earn the
birthday multiplier; the greeting job asks whose birthday is kept on a day.

The birthday is sealed (encrypted) at rest; the month-day index is keyed by a keyed hash of the label,
so index key names reveal no dates. The calendar rules live in birthday_calendar.py.

The index is another slot than the member's, so it is a step of its own after the member's script.
That script also emits `birthday_set` / `birthday_changed` carrying the label hashes (never the date);
the index consumer (`on_birthday_event`, consumer group BIRTHDAY_INDEX_GROUP) files the member again,
which repairs an index step that a crash cut short. The direct step stays, so a greeting works at once.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol


from . import errors
from .birthday_calendar import (
    Birthday, Occurrence, WindowRule, birthday_words, check_birthday, current_or_next, index_label, kept_words,
    labels_on, parse_birthday,
)
from .clock import MALL_TZ, Clock
from .pending import PendingChoice, PendingChoices
from .perk_rules import Gift
from .pii import Pii
from .points import check_ref
from .program import Program

BIRTHDAY_INDEX_GROUP = "birthday-index"   # the consumer group that keeps the month-day index
BIRTHDAY_KIND = "birthday"                # the pending-choice kind of a birthday waiting for 确认
VOUCHER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
AUDIT_PAGE = 20
CALENDAR_MONTH = WindowRule("month")       # "birthday this month", whatever the gift window is


# -- values ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BirthdayProposal:
    """A valid birthday waiting for the member's 确认 (`choice`, whose payload carries it sealed)."""
    birthday: Birthday
    words: str
    kept: str
    choice: PendingChoice

    @property
    def sealed(self) -> str:
        return self.choice.payload["sealed"]


@dataclass(frozen=True)
class BirthdayStatus:
    birthday: Birthday
    words: str
    kept: str
    occurrence: Occurrence      # this cycle's, or the next one when this cycle's window has passed
    in_window: bool


@dataclass(frozen=True)
class GiftClaim:
    gift: Gift
    cycle: int
    claimed_at: datetime
    replayed: bool              # claimed before: this is the first claim's answer
    voucher_code: str = ""
    valid_until: date | None = None
    coupon: Any = None          # the issued coupon (kind = coupon)


@dataclass(frozen=True)
class BirthdayChange:
    member_id: str
    action: str                 # set | changed
    changes: int
    replayed: bool


@dataclass(frozen=True)
class StoredChange:
    """What a staff change stored: set (there was none) or changed, the member's count of changes, and the
    index label the birthday carried before."""
    action: str
    changes: int
    previous_label: str
    replayed: bool


@dataclass(frozen=True)
class StoredClaim:
    """The gift claimed for a birthday cycle, as first recorded (a replay gets that record)."""
    record: dict
    replayed: bool


@dataclass(frozen=True)
class AuditEntry:
    action: str
    at: datetime
    by: str
    reason: str
    request_id: str


# -- ports ---------------------------------------------------------------------------------------------
class BirthdayStore(Protocol):
    async def sealed(self, member_id: str) -> str | None: ...
    async def set(self, member_id: str, sealed: str, label: str, calendar: str, op_id: str, now: datetime) -> None:
        """Once per op_id; raises BirthdayAlreadySet when another op set one."""
    async def change(self, member_id: str, sealed: str, label: str, calendar: str, request_id: str, staff_id: str,
                     reason: str, fingerprint: str, now: datetime) -> StoredChange:
        """Once per request_id; raises BirthdayChangeConflict for another change under the same id."""
    async def claim(self, member_id: str, cycle: int, gift: dict, now: datetime) -> StoredClaim:
        """Record the cycle's gift once; raises NoBirthday."""
    async def audit(self, member_id: str, count: int) -> list[dict]: ...
    async def label(self, member_id: str) -> str | None:
        """The index label hash the member's stored birthday carries."""
    async def index(self, label: str, member_id: str, previous_label: str = "") -> None: ...
    async def unindex(self, member_id: str, labels: set[str]) -> None: ...
    async def members_under(self, label: str) -> list[str]: ...
    async def file_voucher(self, code: str, voucher: dict) -> bool: ...


class TierLookup(Protocol):
    async def status(self, member_id: str, now: datetime) -> Any:
        """An object with `.tier.code`."""


class PointsGranter(Protocol):
    async def grant(self, member_id: str, points: int, source: str, ref: str) -> Any: ...


class CouponIssuer(Protocol):
    """Issues a coupon from a template, once per issue key; the coupon feature's service fits."""
    async def issue(self, member_id: str, template_id: str, issue_key: str, *, source: str = "") -> Any: ...


# -- sealing -----------------------------------------------------------------------------------------------
class BirthdaySeal:
    """Encrypts birthdays and hashes their index labels with the PII keys; opened birthdays are cached
    by their sealed text (a change seals anew, so the cache never goes stale)."""

    def __init__(self, pii: Pii, cache_size: int = 100_000):
        self._pii = pii
        self._opened: OrderedDict[str, Birthday] = OrderedDict()
        self._cache_size = cache_size

    def seal(self, birthday: Birthday) -> str:
        return self._pii.encrypt(birthday.to_json(), context="birthday")

    def open(self, sealed: str) -> Birthday:
        birthday = self._opened.get(sealed)
        if birthday is None:
            birthday = Birthday.from_json(self._pii.decrypt(sealed, context="birthday"))
            self._opened[sealed] = birthday
            if len(self._opened) > self._cache_size:
                self._opened.popitem(last=False)
        return birthday

    def label(self, label: str) -> str:
        return self._pii.lookup_hash(label, context="birthday-index")[:32]

    def voucher_code(self, member_id: str, cycle: int) -> str:
        """Unguessable, and the same for every attempt at one claim (so concurrent claims agree)."""
        digest = int(self._pii.lookup_hash(f"{member_id}:{cycle}", context="birthday-voucher")[:16], 16)
        chars = [VOUCHER_ALPHABET[(digest >> (5 * i)) % 32] for i in range(10)]
        return "".join(chars[:5]) + "-" + "".join(chars[5:])


class StoredBirthdayWindows:
    """The points ledger's port: is a day inside the member's birthday window? One batched read of the
    sealed birthday per purchase; the rest is computed (and cached) in the process."""

    def __init__(self, store: BirthdayStore, seal: BirthdaySeal, program: Program):
        self._store = store
        self._seal = seal
        self._window = program.birthday.window

    async def contains(self, member_id: str, day: date) -> bool:
        sealed = await self._store.sealed(member_id)
        if sealed is None:
            return False
        found = current_or_next(self._seal.open(sealed), day, self._window)
        return found is not None and found.contains(day)

    async def in_birthday_month(self, member_id: str, day: date) -> bool:
        """The counter's port: is the birthday (solar or lunar) kept in the calendar month of `day`?"""
        sealed = await self._store.sealed(member_id)
        if sealed is None:
            return False
        found = current_or_next(self._seal.open(sealed), day, CALENDAR_MONTH)
        return found is not None and found.contains(day)


# -- the service -------------------------------------------------------------------------------------------
class BirthdayService:
    def __init__(self, store: BirthdayStore, seal: BirthdaySeal, program: Program, clock: Clock, tiers: TierLookup,
                 points: PointsGranter, pending: PendingChoices, coupons: CouponIssuer):
        self._store = store
        self._pending = pending
        self._seal = seal
        self.program = program
        self.rules = program.birthday
        self._clock = clock
        self._tiers = tiers
        self._points = points
        self._coupons = coupons

    @property
    def confirm_window(self) -> timedelta:
        """How long a proposed birthday waits for the member's 确认."""
        return timedelta(minutes=self.rules.confirm_minutes)

    def _today(self) -> date:
        return self._clock.now().astimezone(MALL_TZ).date()

    # -- setting ---------------------------------------------------------------------------------------------
    async def propose(self, member_id: str, text: str, calendar: str) -> BirthdayProposal:
        """Check what the member typed and offer it for 确认; nothing is stored until `confirm`. Raises
        InvalidBirthday, or BirthdayAlreadySet when the member has one (staff change it)."""
        if await self._store.sealed(member_id) is not None:
            raise errors.BirthdayAlreadySet()
        birthday = parse_birthday(text, calendar, self._today())
        choice = await self._pending.offer(member_id, BIRTHDAY_KIND, {"sealed": self._seal.seal(birthday)},
                                           "设置生日", self.confirm_window)
        return BirthdayProposal(birthday, birthday_words(birthday), kept_words(birthday), choice)

    async def confirm(self, member_id: str, sealed: str, op_id: str) -> BirthdayStatus:
        """Store the proposed birthday, once; the same op_id again gets the same answer."""
        birthday = self._seal.open(sealed)
        check_birthday(birthday, self._today())
        label = self._seal.label(index_label(birthday))
        await self._store.set(member_id, sealed, label, birthday.calendar, check_ref(op_id, "op_id"), self._clock.now())
        await self._store.index(label, member_id)
        return self._status(birthday)

    async def change(self, member_id: str, text: str, calendar: str, *, staff_id: str, reason: str,
                     request_id: str) -> BirthdayChange:
        """Staff set or change a birthday (with a reason, audited); once per request_id."""
        birthday = parse_birthday(text, calendar, self._today())
        label = self._seal.label(index_label(birthday))
        fingerprint = self._seal.label(f"change|{request_id}|{birthday.to_json()}|{staff_id}|{reason}")
        stored = await self._store.change(member_id, self._seal.seal(birthday), label, calendar,
                                          check_ref(request_id, "request_id"), staff_id, reason, fingerprint,
                                          self._clock.now())
        await self._store.index(label, member_id, stored.previous_label)
        return BirthdayChange(member_id, stored.action, stored.changes, stored.replayed)

    async def on_birthday_event(self, event: dict) -> None:
        """birthday_set / birthday_changed from the outbox stream: file the member under the label their
        birthday carries now, and out of the event's other labels. It follows the stored birthday, not the
        event, so replays and events handled out of order change nothing."""
        member_id, data = event["member_id"], event["data"]
        named = {data.get("label", ""), data.get("previous_label", "")} - {""}
        filed = await self._store.label(member_id)
        await self._store.unindex(member_id, named - {filed})
        current = await self._store.label(member_id)    # again: a change meanwhile may carry one of those labels
        if current:
            await self._store.index(current, member_id)

    # -- reading -------------------------------------------------------------------------------------------
    async def status(self, member_id: str) -> BirthdayStatus | None:
        sealed = await self._store.sealed(member_id)
        return None if sealed is None else self._status(self._seal.open(sealed))

    def _status(self, birthday: Birthday) -> BirthdayStatus:
        today = self._today()
        found = current_or_next(birthday, today, self.rules.window)
        return BirthdayStatus(birthday, birthday_words(birthday), kept_words(birthday), found,
                              in_window=found is not None and found.contains(today))

    async def audit(self, member_id: str) -> list[AuditEntry]:
        return [AuditEntry(e["action"], datetime.fromisoformat(e["at"]), e["by"], e.get("reason", ""),
                           e.get("request_id", "")) for e in await self._store.audit(member_id, AUDIT_PAGE)]

    async def members_with_birthday_on(self, day: date) -> list[str]:
        """Members whose birthday (solar or lunar, with the Feb 29, day-30 and leap-month rules) is kept
        on `day`; each once."""
        found: dict[str, None] = {}
        for label in labels_on(day):
            found.update(dict.fromkeys(await self._store.members_under(self._seal.label(label))))
        return list(found)

    # -- the gift ---------------------------------------------------------------------------------------------
    async def claim_gift(self, member_id: str) -> GiftClaim:
        """The tier's gift, once per birthday cycle; raises NoBirthday, NotInBirthdayWindow (with
        `opens_on`), NoBirthdayGift."""
        status = await self.status(member_id)
        if status is None:
            raise errors.NoBirthday()
        if not status.in_window:
            raise errors.NotInBirthdayWindow(opens_on=status.occurrence.window_start,
                                             closes_on=status.occurrence.window_end)
        now = self._clock.now()
        gift = self.rules.gift_for((await self._tiers.status(member_id, now)).tier.code,
                                   tuple(t.code for t in self.program.tiers))
        if gift is None:
            raise errors.NoBirthdayGift()
        cycle = status.occurrence.cycle
        claim = await self._store.claim(member_id, cycle, self._gift_record(member_id, gift, cycle, now), now)
        return await self._deliver(member_id, claim, status.occurrence)

    async def gift_of_the_day(self, member_id: str) -> GiftClaim | None:
        """On the birthday the tier's gift comes by itself, unless the member claimed it already this cycle (the
        same once-a-year claim as 领取生日礼, so never twice): the claim, or None when there is no gift to give
        (no birthday, the window closed, a tier without one)."""
        try:
            return await self.claim_gift(member_id)
        except (errors.NoBirthday, errors.NotInBirthdayWindow, errors.NoBirthdayGift):
            return None

    def _gift_record(self, member_id: str, gift: Gift, cycle: int, now: datetime) -> dict:
        record = {"kind": gift.kind, "title": gift.title, "points": gift.points, "template": gift.template,
                  "claimed_at": now.isoformat(), "voucher_code": "", "valid_until": ""}
        if gift.kind == "voucher":
            record["voucher_code"] = self._seal.voucher_code(member_id, cycle)
            record["valid_until"] = (now.astimezone(MALL_TZ).date() + timedelta(days=gift.valid_days)).isoformat()
        return record

    async def _deliver(self, member_id: str, claim: StoredClaim, occurrence: Occurrence) -> GiftClaim:
        """Hand over what the claim recorded (the first claim's record on a replay)."""
        record, cycle = claim.record, occurrence.cycle
        gift = Gift(record["kind"], record["title"], record["points"], record["template"])
        coupon = await self._hand_over(member_id, gift, record, cycle)
        return GiftClaim(gift, cycle, datetime.fromisoformat(record["claimed_at"]), claim.replayed,
                         voucher_code=record["voucher_code"],
                         valid_until=date.fromisoformat(record["valid_until"]) if record["valid_until"] else None,
                         coupon=coupon)

    async def _hand_over(self, member_id: str, gift: Gift, record: dict, cycle: int) -> Any:
        """Each step is idempotent by the claim, so a replayed claim repeats it harmlessly, and completes
        a delivery that an earlier attempt did not finish. Returns the coupon of a coupon gift."""
        if gift.kind == "points":
            await self._points.grant(member_id, gift.points, "birthday", f"birthday:{cycle}")
        elif gift.kind == "coupon":
            return await self._coupons.issue(member_id, gift.template, f"birthday-{member_id}-{cycle}",
                                             source="birthday")
        elif gift.kind == "voucher":
            await self._store.file_voucher(record["voucher_code"], {
                "member_id": member_id, "title": gift.title, "source": "birthday", "cycle": cycle,
                "valid_until": record["valid_until"]})
        return None

