"""A campaign as marketers define it, and the pure rules around it: which arm a member is in, and whether a
variant's conversion differs from another's by more than chance.

Assignment: the first 15 hex digits of sha256("<campaign_id>:<member_id>") as a fraction u in [0, 1); u below
the holdout puts the member in the holdout, else (u − holdout) / (1 − holdout) falls into a variant by the
cumulative weights, in the order given. The same campaign and member always give the same arm.

The z-test: two proportions x1/n1 and x2/n2, pooled p = (x1 + x2) / (n1 + n2), z = (p1 − p2) /
sqrt(p (1 − p) (1/n1 + 1/n2)), two-sided p-value = erfc(|z| / √2). No members or a pooled rate of 0 or 1 gives
z = 0 and p = 1 (nothing to tell).
"""
from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, model_validator

from .program_fields import Checked, Flag, Ident, Invalid, Number, OneOf, OptionalText, Text, Whole, rules
from .segment_rules import Segment

HOLDOUT = "holdout"
SCHEDULED, SENDING, SENT, CANCELLED = "scheduled", "sending", "sent", "cancelled"      # a campaign's life
PREFERRED_CATEGORY = "@preferred_category"
SIGNIFICANCE = 0.05
MAX_TEXT = 2000


def _moment(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise Invalid("must be an ISO time with a time zone, or null for now")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("must be an ISO time with a time zone, or null for now") from None
    if moment.tzinfo is None:
        raise Invalid("needs a time zone (e.g. +08:00)")
    return moment


def _message(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise Invalid(f"must be a text of 1 to {MAX_TEXT} characters")
    return value


@rules
class Variant:
    name: Ident
    weight: Annotated[Decimal, Number(0, 1, above_minimum=True)]
    text: Annotated[str, Checked(_message)]
    coupon_template: OptionalText = ""


@rules
class Channels:
    mass_send: Flag = False


@rules
class CampaignDefinition:
    campaign_id: Ident
    name: Text
    kind: Annotated[str, OneOf("marketing")]
    variants: tuple[Variant, ...]
    segment: Segment = Field(default_factory=Segment)
    holdout: Annotated[Decimal, Number(0, Decimal("0.5"))] = Decimal("0.1")
    send_at: Annotated[datetime | None, Checked(_moment, optional=True)] = None
    repeat: OptionalText | None = None
    channels: Channels = Field(default_factory=Channels)
    conversion_days: Annotated[int, Whole(1, 365)] = 14

    @model_validator(mode="after")
    def _variants_add_up(self) -> "CampaignDefinition":
        if not self.variants:
            raise Invalid("needs at least one variant", ("variants",))
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names) or HOLDOUT in names:
            raise Invalid(f"variant names must differ from each other and from {HOLDOUT!r}", ("variants",))
        total = sum(v.weight for v in self.variants)
        if total != 1:
            raise Invalid(f"the weights must add up to 1 (they add up to {total})", ("variants",))
        return self

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    @property
    def arms(self) -> list[str]:
        return [v.name for v in self.variants] + [HOLDOUT]


def arm_for(campaign_id: str, member_id: str, definition: CampaignDefinition) -> str:
    digest = hashlib.sha256(f"{campaign_id}:{member_id}".encode()).hexdigest()
    u = Decimal(int(digest[:15], 16)) / Decimal(16 ** 15)
    if u < definition.holdout:
        return HOLDOUT
    position, reached = (u - definition.holdout) / (1 - definition.holdout), Decimal(0)
    for variant in definition.variants:
        reached += variant.weight
        if position < reached:
            return variant.name
    return definition.variants[-1].name


def share_of(member_id: str, shares: int) -> int:
    """Which of `shares` processes sending one campaign delivers to the member: every process works it out alike,
    so each member falls to exactly one of them however the segment's batches come."""
    return zlib.crc32(member_id.encode()) % shares


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> ZTest:
    if n1 == 0 or n2 == 0:
        return ZTest(0.0, 1.0)
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return ZTest(0.0, 1.0)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


@dataclass(frozen=True)
class Arm:
    name: str
    members: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.members if self.members else 0.0


def verdict(arms: list[Arm]) -> str:
    """A plain sentence: the best variant against the next best (or the holdout when there is one variant)."""
    variants = sorted((a for a in arms if a.name != HOLDOUT), key=lambda a: (-a.rate, a.name))
    holdout = next((a for a in arms if a.name == HOLDOUT), None)
    if not variants or variants[0].members == 0:
        return "no members yet"
    best = variants[0]
    other = variants[1] if len(variants) > 1 else holdout
    if other is None or other.members == 0:
        return f"{best.name}: {best.rate:.0%} conversion, nothing to compare with"
    test = two_proportion_z_test(best.converted, best.members, other.converted, other.members)
    p_value = "p < 0.01" if test.p_value < 0.005 else f"p = {test.p_value:.2f}"
    figures = f"{best.rate:.0%} vs {other.rate:.0%} conversion, {p_value}"
    if test.p_value < SIGNIFICANCE and best.rate > other.rate:
        return f"{best.name} beats {other.name}: {figures}"
    return f"no clear difference between {best.name} and {other.name}: {figures}"
