"""The program's perks: the `[birthday]`, `[referral]` and `[welcome]` sections of the program file."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from .birthday_calendar import WindowRule
from .program_fields import (
    Duration, Flag, Ident, Invalid, Multiplier, OneOf, OptionalTemplateId, Text, TierCode, Whole, raise_duplicates,
    rules,
)

GiftKind = Literal["points", "voucher", "coupon"]
GIFT_KINDS: tuple[str, ...] = get_args(GiftKind)


@rules
class Gift:
    """What a member receives: bonus points, a voucher for a physical gift collected at the service
    desk (with a code), or a coupon issued from a coupon template."""
    kind: Annotated[GiftKind, OneOf(*GIFT_KINDS)]
    title: Text                                             # in words, as the member sees it
    points: Annotated[int, Whole(0, 1_000_000)] = 0         # kind = points
    template: OptionalTemplateId = ""                       # kind = coupon: the coupon template id
    valid_days: Annotated[int, Whole(1, 365)] = 30          # kind = voucher: how long the code can be shown at the desk

    @model_validator(mode="after")
    def _complete(self) -> "Gift":
        if self.kind == "points" and self.points <= 0:
            raise Invalid("is required (> 0) for a points gift", ("points",))
        if self.kind == "coupon" and not self.template:
            raise Invalid("is required for a coupon gift", ("template",))
        return self


@rules
class BirthdayRules:
    # The window: the calendar month of the day the birthday is kept on, or days_before/days_after around it.
    window_kind: Annotated[Literal["month", "days"], OneOf("month", "days")] = Field("month", alias="window")
    days_before: Annotated[int, Whole(0, 90)] = 0
    days_after: Annotated[int, Whole(0, 90)] = 0
    confirm_minutes: Annotated[int, Whole(1, 60)] = 10      # 确认 must follow the birthday within this
    gifts: dict[TierCode, Gift] = Field(default_factory=dict)   # by tier code; a tier without one gets the next lower tier's

    @property
    def window(self) -> WindowRule:
        return WindowRule(self.window_kind, self.days_before, self.days_after)

    def gift_for(self, tier_code: str, tier_codes: tuple[str, ...]) -> Gift | None:
        """The gift of the tier, else of the highest lower tier that has one (`tier_codes` lowest first)."""
        position = tier_codes.index(tier_code) if tier_code in tier_codes else 0
        for code in reversed(tier_codes[:position + 1]):
            if code in self.gifts:
                return self.gifts[code]
        return None


@rules
class ReferrerLevel:
    code: Ident
    name: Text
    min_rewarded: Annotated[int, Whole(1, 100_000)]         # rewarded referrals (all time) needed for the level
    multiplier: Multiplier                                  # on the referrer's reward points


@rules
class ReferralRules:
    referrer_points: Annotated[int, Whole(0, 1_000_000)] = 500
    referrer_coupon: OptionalTemplateId = ""                # a coupon template id; "" = none
    referee_points: Annotated[int, Whole(0, 1_000_000)] = 200
    referee_coupon: OptionalTemplateId = ""
    refund_window: Annotated[timedelta, Duration("days", 0, 90)] = Field(timedelta(days=7),
                                                                         alias="refund_window_days")
    # how long a reward whose referee unfollowed is held for them to follow again, before it is cancelled
    unfollowed_hold: Annotated[timedelta, Duration("days", 0, 365)] = Field(timedelta(days=30),
                                                                            alias="unfollowed_hold_days")
    monthly_cap: Annotated[int, Whole(1, 10_000)] = 20     # rewarded referrals per referrer per calendar month
    require_phone: Flag = True           # the referee needs a bound phone, never used by another rewarded referee
    levels: tuple[ReferrerLevel, ...] = (
        ReferrerLevel("silver", "银牌推荐官", 5, Decimal("1.5")),
        ReferrerLevel("gold", "金牌推荐官", 20, Decimal(2)),
    )
    qr_days: Annotated[int, Whole(2, 30)] = 30     # lifetime of a referral QR code (the platform allows 30 days at most)
    leaderboard_size: Annotated[int, Whole(1, 100)] = 10

    @model_validator(mode="after")
    def _unique_levels(self) -> "ReferralRules":
        raise_duplicates([level.code for level in self.levels], "levels", "level code", id_key="code")
        return self

    def level_for(self, rewarded: int) -> ReferrerLevel | None:
        reached = [level for level in self.levels if rewarded >= level.min_rewarded]
        return max(reached, key=lambda level: level.min_rewarded, default=None)

    def next_level(self, rewarded: int) -> ReferrerLevel | None:
        higher = [level for level in self.levels if rewarded < level.min_rewarded]
        return min(higher, key=lambda level: level.min_rewarded, default=None)


@rules
class WelcomeRules:
    """The gift of a new member, given once for life on joining."""
    coupon: OptionalTemplateId = ""                         # a coupon template id; "" = none
    points: Annotated[int, Whole(0, 1_000_000)] = 0         # bonus points; 0 = none

    @property
    def gives_anything(self) -> bool:
        return bool(self.coupon or self.points)
