"""The welcome gift: what the program's `[welcome]` section gives a new member, once for life.

A member is new when the follow script creates their record — on a first follow, or on a first message
from someone who followed before the program existed — and that same script writes the `member_joined`
event. Re-following creates nothing, so it gives nothing.

The gift is two steps, each idempotent by the member id: the coupon (issue key `welcome:<member_id>`,
kept for good in the member's coupon operations) and the points (ledger ref `welcome`). The callback
that created the member gives it, so that the welcome reply can say what was given; the consumer of
`member_joined` gives it again, which completes a gift that a crash cut short or never started, and
otherwise replays what was given. A gift the rules refuse (the template's dates are over, its total
limit is reached) is logged and skipped, never retried and never in the way of the welcome reply.

The consumer repairs recent joins only (REPAIR_WINDOW): when the consumer group is first created on a
stream that already holds the joins of members from before the welcome gift existed, those get nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from . import errors
from .clock import Clock
from .members import FollowResult
from .perk_rules import WelcomeRules

log = logging.getLogger("loyalty_core.welcome")

WELCOME_GROUP = "welcome-gift"
POINTS_SOURCE = POINTS_REF = "welcome"
REPAIR_WINDOW = timedelta(days=7)


class CouponIssuer(Protocol):
    async def issue(self, member_id: str, template_id: str, issue_key: str, *, source: str = "") -> Any: ...


class PointsGranter(Protocol):
    async def grant(self, member_id: str, points: int, source: str, ref: str) -> Any: ...


@dataclass(frozen=True)
class WelcomeGift:
    coupon: Any = None      # the coupon given (loyalty_core.coupons.Coupon), or None
    points: int = 0         # bonus points given

    @property
    def given(self) -> bool:
        return self.coupon is not None or self.points > 0


class WelcomeService:
    def __init__(self, coupons: CouponIssuer, points: PointsGranter, rules: WelcomeRules, clock: Clock):
        self._coupons = coupons
        self._points = points
        self.rules = rules
        self._clock = clock

    async def gift_for(self, follow: FollowResult) -> WelcomeGift | None:
        """The gift of the member this follow (or first message) created, for the welcome reply; None for
        one who was a member already. A step that fails here is left to the `member_joined` consumer,
        so that the welcome still goes out (it then names only what was given)."""
        if not follow.is_new:
            return None
        coupon = points = None
        try:
            coupon = await self.give_coupon(follow.member_id)
            points = await self.give_points(follow.member_id)
        except Exception as error:  # noqa: BLE001 - the consumer completes the gift
            log.warning("welcome gift for member %s left to the consumer (%s)", follow.member_id,
                        type(error).__name__)
        return WelcomeGift(coupon, points or 0)

    async def give(self, member_id: str) -> WelcomeGift:
        return WelcomeGift(await self.give_coupon(member_id), await self.give_points(member_id))

    async def give_coupon(self, member_id: str) -> Any:
        if not self.rules.coupon:
            return None
        try:
            return await self._coupons.issue(member_id, self.rules.coupon, f"welcome:{member_id}", source="welcome")
        except errors.DomainError as refused:
            log.warning("welcome coupon %s not issued to member %s: %s", self.rules.coupon, member_id, refused.code)
            return None

    async def give_points(self, member_id: str) -> int:
        if self.rules.points <= 0:
            return 0
        await self._points.grant(member_id, self.rules.points, POINTS_SOURCE, POINTS_REF)
        return self.rules.points

    async def on_member_joined(self, event: dict) -> None:
        """The `member_joined` consumer: gives (or completes, or replays) the gift of a recent join."""
        if self._clock.now() - datetime.fromisoformat(event["occurred_at"]) > REPAIR_WINDOW:
            return
        await self.give(event["member_id"])
