"""The program's birthday and referral rules (the `[birthday]` and `[referral]` sections of the program file)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from .birthday_calendar import WindowRule

GIFT_KINDS = ("points", "voucher", "coupon")


@dataclass(frozen=True)
class Gift:
    """What a member receives: bonus points, a voucher for a physical gift collected at the service
    desk (with a code), or a coupon issued from a coupon template."""
    kind: str                # points | voucher | coupon
    title: str               # in words, as the member sees it
    points: int = 0          # kind = points
    template: str = ""       # kind = coupon: the coupon template id
    valid_days: int = 30     # kind = voucher: how long the code can be shown at the desk


@dataclass(frozen=True)
class BirthdayRules:
    window: WindowRule = field(default_factory=WindowRule)
    confirm_minutes: int = 10
    gifts: tuple[tuple[str, Gift], ...] = ()   # (tier code, gift); a tier without one gets the next lower tier's

    def gift_for(self, tier_code: str, tier_codes: tuple[str, ...]) -> Gift | None:
        """The gift of the tier, else of the highest lower tier that has one (`tier_codes` lowest first)."""
        by_tier = dict(self.gifts)
        position = tier_codes.index(tier_code) if tier_code in tier_codes else 0
        for code in reversed(tier_codes[:position + 1]):
            if code in by_tier:
                return by_tier[code]
        return None


@dataclass(frozen=True)
class ReferrerLevel:
    code: str
    name: str
    min_rewarded: int        # rewarded referrals (all time) needed for the level
    multiplier: Decimal      # on the referrer's reward points


@dataclass(frozen=True)
class ReferralRules:
    referrer_points: int = 500
    referrer_coupon: str = ""            # a coupon template id; "" = none
    referee_points: int = 200
    referee_coupon: str = ""
    refund_window: timedelta = timedelta(days=7)
    unfollowed_hold_days: int = 30       # a reward whose referee unfollowed waits this long for them to come back
    monthly_cap: int = 20                # rewarded referrals per referrer per calendar month
    require_phone: bool = True           # the referee needs a bound phone, never used by another rewarded referee
    levels: tuple[ReferrerLevel, ...] = (
        ReferrerLevel("silver", "银牌推荐官", 5, Decimal("1.5")),
        ReferrerLevel("gold", "金牌推荐官", 20, Decimal(2)),
    )
    qr_days: int = 30                    # lifetime of a referral QR code (the platform allows 30 days at most)
    leaderboard_size: int = 10

    def level_for(self, rewarded: int) -> ReferrerLevel | None:
        reached = [level for level in self.levels if rewarded >= level.min_rewarded]
        return max(reached, key=lambda level: level.min_rewarded, default=None)

    def next_level(self, rewarded: int) -> ReferrerLevel | None:
        higher = [level for level in self.levels if rewarded < level.min_rewarded]
        return min(higher, key=lambda level: level.min_rewarded, default=None)
