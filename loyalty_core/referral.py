"""Referrals (推荐有礼): a member shares a referral QR code (scene `ref:<member_id>`); a new follower
who arrives through it becomes that member's referee; the referee's first purchase earns both a
reward, paid once the refund window has passed without a refund of that purchase.

Rules, each refusal recorded with its reason:
- Attribution only for a first-ever follower (a `subscribe` that created the member): not a follower
  who scans (`already_follower`), nor one who comes back after unfollowing (`returning_follower`), nor
  the referrer themself (`self_referral`); the referrer must be a member (`unknown_referrer`) who
  follows the account (`referrer_unsubscribed`); one referrer per member (`already_referred`).
  Refusals are `referral_rejected` events of the follower, and the referrer's list of refused attempts.
- Reward: on the referee's first purchase (the ledger's `first_purchase` event) a place under the
  referrer's monthly cap is reserved (`monthly_cap` when full: no reward), and the reward waits
  `refund_window`. A refund of that purchase inside the window cancels it (`refunded`), giving the
  place back. When the window is over, `release_due` pays it: the referee needs a bound phone
  (`no_phone`) that no other rewarded referee used (`phone_reused`) — when `require_phone` is on.
  A referee who has unfollowed by then holds the reward (`held`): it is paid when they follow again
  within `unfollowed_hold_days` (the `member_refollowed` event), else cancelled (`referee_unfollowed`).
- Paid: the referrer `referrer_points` × the referrer level's multiplier (the level reached before
  this reward: silver, gold by rewarded referrals) and/or a coupon; the referee `referee_points`
  and/or a welcome coupon. The monthly cap counts rewards, paid or waiting, by the month of the first
  purchase (the till's purchase time) — the member's stats show that count; the leaderboard counts
  rewards by the month they were paid.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from . import errors
from .clock import MALL_TZ, Clock
from .members import FollowResult, MemberService
from .notices import Notifier
from .perk_rules import ReferrerLevel
from .points import BoardRead, mask_name, walk_index
from .program import Program

log = logging.getLogger("loyalty_core.referral")

SCENE_PREFIX = "ref"
REFERRAL_GROUP = "referrals"


def referral_scene(member_id: str) -> str:
    return f"{SCENE_PREFIX}:{member_id}"


def month_of(moment: datetime) -> str:
    return moment.astimezone(MALL_TZ).strftime("%Y%m")


# -- values ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attribution:
    attributed: bool
    reason: str = ""              # why not ("" when attributed)
    referrer_id: str = ""
    referrer_name: str = ""       # masked, for the welcome text


@dataclass(frozen=True)
class ReferralStats:
    joined: int                   # referees attributed to the member
    rewarded: int                 # rewards paid (all time)
    pending: int                  # rewards waiting for the refund window
    month_counted: int            # rewards under this month's cap: first purchases this month, paid or waiting
    rank: int | None              # on this month's leaderboard
    level: ReferrerLevel | None
    next_level: ReferrerLevel | None
    to_next_level: int
    monthly_cap: int


@dataclass(frozen=True)
class BoardRow:
    rank: int
    name: str
    count: int
    is_me: bool = False


@dataclass(frozen=True)
class ReferralBoard:
    month: str                    # yyyymm
    rows: tuple[BoardRow, ...]
    my_rank: int | None
    my_count: int

    @property
    def month_words(self) -> str:
        return f"{self.month[:4]}年{int(self.month[4:])}月"


@dataclass(frozen=True)
class Release:
    referee_id: str
    status: str                   # released | cancelled | pending (not due yet) | held | failed (retried next round)
    reason: str = ""              # why cancelled; for failed, the kind of error
    referrer_points: int = 0


@dataclass(frozen=True)
class RewardStep:
    """Where a referee's reward stands after a step of the referee's side: attributed | rejected | pending |
    held | released | cancelled (or "" for a member who is no referee); `changed` is False on a replay."""
    status: str
    referrer: str = ""
    reason: str = ""
    changed: bool = True
    hold_until: datetime | None = None   # held: until when it waits for the referee to follow again


@dataclass(frozen=True)
class Credit:
    """A released reward on the referrer's side: the points it earns, and the referrer's count that month."""
    points: int
    month: str
    month_count: int


# -- ports ----------------------------------------------------------------------------------------------
class ReferralStore(Protocol):
    async def referee(self, referee: str) -> dict: ...
    async def attribute(self, referee: str, referrer: str, reason: str, attempt: str, now: datetime) -> RewardStep:
        """attributed, or rejected with the reason (this one, or the reason already on record)."""
    async def pending(self, referee: str, txn_id: str, purchased_at: datetime, due: datetime, reserved: bool,
                      now: datetime) -> RewardStep: ...
    async def cancel(self, referee: str, txn_id: str, refunded_at: datetime, now: datetime) -> RewardStep:
        """`changed`: this refund cancelled the reward now."""
    async def release(self, referee: str, reason: str, following: bool, hold_until: datetime,
                      now: datetime) -> RewardStep:
        """Release, cancel for `reason`, or hold (until `hold_until`, for a referee no longer `following`)."""
    async def joined(self, referrer: str, referee: str, outcome: str, attempt: str, now: datetime) -> None: ...
    async def reserve(self, referrer: str, referee: str, month: str, cap: int, now: datetime) -> bool:
        """Whether a place under the month's cap is the referee's (now, or from before)."""
    async def unreserve(self, referrer: str, referee: str, reason: str, now: datetime) -> None: ...
    async def credit(self, referrer: str, referee: str, month: str, points: int, levels: list[dict],
                     now: datetime) -> Credit: ...
    async def referrer(self, referrer: str) -> dict: ...
    async def rejections(self, referrer: str, count: int) -> list[dict]: ...
    async def schedule(self, referee: str, due: datetime) -> None: ...
    async def unschedule(self, referee: str) -> None: ...
    async def due(self, until: datetime, offset: int, limit: int) -> list[str]: ...
    async def rank(self, month: str, referrer: str, count: int) -> None: ...
    async def claim_phone(self, phone_hash: str, referee: str) -> str: ...
    async def release_phone(self, phone_hash: str, referee: str) -> None: ...
    async def leaderboard(self, month: str, size: int, member_id: str) -> BoardRead: ...
    async def my_rank(self, month: str, member_id: str) -> int | None: ...


class PointsGranter(Protocol):
    async def grant(self, member_id: str, points: int, source: str, ref: str) -> Any: ...


class CouponIssuer(Protocol):
    async def issue(self, member_id: str, template_id: str, issue_key: str, *, source: str = "") -> Any: ...


# -- the service ----------------------------------------------------------------------------------------
class ReferralService:
    def __init__(self, store: ReferralStore, members: MemberService, points: PointsGranter, program: Program,
                 clock: Clock, coupons: CouponIssuer, notifier: Notifier | None = None):
        self._store = store
        self._members = members
        self._points = points
        self._coupons = coupons
        self._notifier = notifier
        self.rules = program.referral
        self._clock = clock

    # -- attribution ----------------------------------------------------------------------------------------
    async def attribute(self, member_id: str, scene_value: str, follow: FollowResult | None,
                        delivery_key: str) -> Attribution:
        """The follower `member_id` arrived through the QR code `ref:<scene_value>`."""
        referrer_id = scene_value.strip() if scene_value.strip().isdigit() else ""
        referrer = await self._member(referrer_id) if referrer_id else None
        reason = _refusal(member_id, referrer_id, referrer, follow)
        now, attempt = self._clock.now(), hashlib.sha256(delivery_key.encode()).hexdigest()[:20]  # no openid in ids
        step = await self._store.attribute(member_id, referrer_id, reason, attempt, now)
        attributed = step.status == "attributed"
        if referrer is not None:
            await self._store.joined(referrer_id, member_id, "joined" if attributed else step.reason, attempt, now)
        if not attributed:
            return Attribution(False, step.reason, referrer_id)
        return Attribution(True, "", referrer_id, mask_name(referrer.nickname, referrer_id))

    async def _member(self, member_id: str):
        try:
            return await self._members.get(member_id)
        except errors.UnknownMember:
            return None

    # -- the reward -----------------------------------------------------------------------------------------
    async def on_first_purchase(self, event: dict) -> str:
        """The ledger's first_purchase event: the referee's reward starts waiting (or is refused). Every
        step replays, so the event handled again after a crash completes what the first attempt began."""
        referee = event["member_id"]
        record = await self._store.referee(referee)
        if record.get("status") not in ("attributed", "pending", "cancelled"):
            return record.get("status", "not_a_referee")
        referrer, txn_id = record["referrer"], event["data"]["txn_id"]
        purchased_at = datetime.fromisoformat(event["data"]["occurred_at"])    # the till's time, maybe backdated
        now = self._clock.now()
        reserved = await self._store.reserve(referrer, referee, month_of(purchased_at), self.rules.monthly_cap, now)
        due = purchased_at + self.rules.refund_window
        step = await self._store.pending(referee, txn_id, purchased_at, due, reserved, now)
        if step.status == "pending":
            await self._store.schedule(referee, due)
        elif step.status == "cancelled":
            await self._store.unreserve(referrer, referee, step.reason, now)
        return step.status

    async def on_refund(self, event: dict) -> str:
        """The ledger's purchase_refunded event: a refund of the first purchase inside the window cancels."""
        referee = event["member_id"]
        record = await self._store.referee(referee)
        if record.get("status") not in ("attributed", "pending"):
            return record.get("status", "not_a_referee")
        now = self._clock.now()
        refunded_at = datetime.fromisoformat(event["occurred_at"])
        step = await self._store.cancel(referee, event["data"]["txn_id"], refunded_at, now)
        if step.changed:
            await self._store.unreserve(step.referrer, referee, "refunded", now)
            await self._store.unschedule(referee)
        return step.status

    async def on_refollow(self, event: dict) -> str:
        """member_refollowed: a referee holding a reward (they had unfollowed) is paid now."""
        referee = event["member_id"]
        if (await self._store.referee(referee)).get("status") != "held":
            return "not_held"
        return (await self.release(referee)).status

    async def release_due(self, now: datetime | None = None, batch: int = 500) -> list[Release]:
        """The job: every reward whose refund window is over is paid (or cancelled, with its reason). A
        release that fails is logged and stays due for the next round; the walk goes on past it."""
        now = now or self._clock.now()
        return [await self._release_or_skip(referee, now) async for referee in walk_index(
            lambda offset: self._store.due(now, offset, batch), batch)]

    async def _release_or_skip(self, referee: str, now: datetime) -> Release:
        try:
            return await self.release(referee, now)
        except Exception as error:  # noqa: BLE001 - one bad record must not hold back the others
            log.error("referral reward of referee %s not released (%s)", referee, type(error).__name__)
            return Release(referee, "failed", type(error).__name__)

    async def release(self, referee: str, now: datetime | None = None) -> Release:
        now = now or self._clock.now()
        member = await self._member(referee)
        reason, phone_hash = await self._phone_check(referee, member)
        hold_until = now + self.rules.unfollowed_hold
        step = await self._store.release(referee, reason, member is not None and member.subscribed, hold_until, now)
        if phone_hash and step.status != "released":
            await self._store.release_phone(phone_hash, referee)
        if step.status == "pending":
            return Release(referee, step.status)
        if step.status == "held":    # due again when the hold ends (or at once if the referee follows again)
            await self._store.schedule(referee, step.hold_until)
            return Release(referee, step.status)
        points = 0
        if step.status == "released":
            points = await self._pay(step.referrer, referee, now)
        elif step.status == "cancelled":
            await self._store.unreserve(step.referrer, referee, step.reason, now)
        await self._store.unschedule(referee)
        return Release(referee, step.status, step.reason, points)

    async def _phone_check(self, referee: str, member) -> tuple[str, str]:
        """('' or the reason to cancel, the phone hash claimed for this referee)."""
        if not self.rules.require_phone:
            return "", ""
        if member is None or not member.phone_hash:
            return "no_phone", ""
        holder = await self._store.claim_phone(member.phone_hash, referee)
        return ("", member.phone_hash) if holder == referee else ("phone_reused", "")

    async def _pay(self, referrer: str, referee: str, now: datetime) -> int:
        """The rewards of a released referral; every step is idempotent, so a repeat completes a payment
        that an earlier attempt left unfinished."""
        month = month_of(now)
        credit = await self._store.credit(referrer, referee, month, self.rules.referrer_points,
                                          self._levels_payload(), now)
        await self._store.rank(credit.month, referrer, credit.month_count)
        if credit.points > 0:
            paid = await self._points.grant(referrer, credit.points, "referral", f"referral:{referee}")
            if self._notifier is not None:
                friend = await self._member(referee)
                await self._notifier.notify(referrer, "referral_reward", {
                    "friend": mask_name(friend.nickname if friend else "", referee), "points": credit.points,
                    "balance": paid.balance}, f"referral:{referee}")
        if self.rules.referee_points > 0:
            await self._points.grant(referee, self.rules.referee_points, "referral_welcome", "referral:welcome")
        if self.rules.referrer_coupon:
            await self._give_coupon(referrer, self.rules.referrer_coupon, f"referral-{referee}")
        if self.rules.referee_coupon:
            await self._give_coupon(referee, self.rules.referee_coupon, f"referral-welcome-{referee}")
        return credit.points

    async def _give_coupon(self, member_id: str, template_id: str, issue_key: str) -> None:
        """A coupon the rules refuse (its limits are reached) is skipped, not retried forever."""
        try:
            await self._coupons.issue(member_id, template_id, issue_key, source="referral")
        except errors.DomainError as refused:
            log.warning("referral coupon %s not issued: %s", template_id, refused.code)

    def _levels_payload(self) -> list[dict]:
        return [{"code": level.code, "min_rewarded": level.min_rewarded,
                 "multiplier_milli": int(level.multiplier * 1000)} for level in self.rules.levels]

    # -- reading --------------------------------------------------------------------------------------------
    async def stats(self, member_id: str, now: datetime | None = None) -> ReferralStats:
        now = now or self._clock.now()
        month = month_of(now)
        record = await self._store.referrer(member_id)
        rewarded = int(record.get("rewarded", 0))
        upcoming = self.rules.next_level(rewarded)
        return ReferralStats(
            joined=int(record.get("joined", 0)), rewarded=rewarded, pending=int(record.get("pending", 0)),
            month_counted=int(record.get(f"reserved:{month}", 0)),
            rank=await self._store.my_rank(month, member_id), level=self.rules.level_for(rewarded),
            next_level=upcoming, to_next_level=upcoming.min_rewarded - rewarded if upcoming else 0,
            monthly_cap=self.rules.monthly_cap)

    async def leaderboard(self, member_id: str, now: datetime | None = None) -> ReferralBoard:
        month = month_of(now or self._clock.now())
        board = await self._store.leaderboard(month, self.rules.leaderboard_size, member_id)
        rows = tuple(BoardRow(i + 1, mask_name(nickname, mid), count, mid == member_id)
                     for i, (mid, nickname, count) in enumerate(board.top))
        return ReferralBoard(month, rows, board.my_rank, board.my_score)

    async def referee_record(self, member_id: str) -> dict:
        """The member's side as a referee: referrer, status, reason, txn, due_at (for support and tests)."""
        return await self._store.referee(member_id)

    async def rejections(self, referrer: str, count: int = 20) -> list[dict]:
        return await self._store.rejections(referrer, count)


def _refusal(member_id: str, referrer_id: str, referrer, follow: FollowResult | None) -> str:
    """Why this arrival cannot be a referral ('' when it can, subject to the one-referrer rule)."""
    if not referrer_id:
        return "bad_scene"
    if referrer_id == member_id:
        return "self_referral"
    if follow is None:
        return "already_follower"
    if not follow.is_new:
        return "returning_follower"
    if referrer is None:
        return "unknown_referrer"
    if not referrer.subscribed:
        return "referrer_unsubscribed"
    return ""

