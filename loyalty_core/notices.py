"""Notices: what the bot tells a member first about their own account (points in and out, a tier, a gift,
something about to expire) and the care messages (birthday, anniversary, holidays). Each kind is a table of
the program file's `[notices]` section: on or off, the customer-service text, the account's template
message and subscribe-message templates with their keyword fields, a link, the push kind, how urgent it is
and how long it may wait. The texts are jinja2 templates of the kind's values (listed per kind in the
packaged program file); the bot renders them, sandboxed, and checks them at start.

A kind without a table in the file is off. Marketing-kind notices (care messages) never go as template
messages (the delivery planner's rule); `mass = true` lets one go as a mass send to a member outside any
customer-service window who has monthly mass quota left.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Mapping, Protocol

from pydantic import BeforeValidator, Field, model_validator

from .program_fields import Duration, Flag, Invalid, OneOf, OptionalText, Text, rules

# The kinds there are, and where each comes from.
NOTICE_KINDS: dict[str, str] = {
    "points_earned": "a purchase earned points (points_earned event)",
    "points_reversed": "a refund took points back (purchase_refunded event)",
    "points_spent": "points paid at a till (points_spent event of a till payment)",
    "points_restored": "a till payment was reversed, its points back in their lots (points_restored event)",
    "tier_upgraded": "the member moved up a tier, with the upgrade reward (tier_upgraded event)",
    "tier_reviewed": "the yearly review kept or lowered the tier (tier_reviewed, tier_downgraded events)",
    "tier_reverted": "a refund undid a recent upgrade (tier_reverted event)",
    "points_expiring": "points expire soon (points_expiring_soon event, from the expiry-warnings job)",
    "coupon_expiring": "a coupon expires soon (the coupon-expiry job)",
    "birthday_greeting": "happy birthday, with the tier's gift (the birthday-greetings job)",
    "referral_reward": "a friend's first purchase paid the referrer's reward (referral_reward_released event)",
    "anniversary": "a year more as a member (the anniversaries job)",
    "holiday": "a holiday greeting from the care calendar (the holidays job)",
    "event_invitation": "an invitation to a member event: the text of the campaign to its audience (campaign event-<id>)",
    "event_promoted": "a place at an event came free and is now the member's (the waitlist moved up)",
    "event_reminder": "an event the member has a place at starts soon (the event-reminders job, 24 h and 2 h)",
    "event_feedback": "how was the event? a score of 1 to 5 asked of those who came (the event-reminders job)",
    "purchase_survey": "how was the shopping? a score of 1 to 5, days after a purchase (the purchase-surveys job)",
    "lifecycle_dormant": "a wake-up for a member who became dormant, with its coupon (the lifecycle job)",
    "lifecycle_churned": "a win-back for a member who churned, with its coupon (the lifecycle job)",
    "lifecycle_lapsing": "a member about to lapse, with a coupon (the lifecycle job)",
}


@rules
class NoticeKind:
    text: Text                                                   # the customer-service text
    enabled: Flag = True
    kind: Annotated[str, OneOf("service", "marketing")] = "service"
    template: OptionalText = ""                                  # the account's template message id; "" = none
    fields: dict[Text, Text] = Field(default_factory=dict)       # its keywords: name -> text (≤ 20 shown)
    subscribe: OptionalText = ""                                 # a subscribe-message template id; "" = none
    subscribe_fields: dict[Text, Text] = Field(default_factory=dict)
    url: OptionalText = ""                                       # where the details are (templates show a link)
    mass: Flag = False                                           # may go as a mass send (marketing kind only)
    urgency: Annotated[str, OneOf("now", "today", "any")] = "today"
    valid: Annotated[timedelta, Duration("hours", 1, 24 * 30)] = Field(timedelta(hours=72), alias="valid_hours")

    @model_validator(mode="after")
    def _channels_fit(self) -> "NoticeKind":
        if self.template and not self.fields:
            raise Invalid("a template message needs its keyword fields", ("fields",))
        if self.subscribe and not self.subscribe_fields:
            raise Invalid("a subscribe message needs its keyword fields", ("subscribe_fields",))
        if self.mass and self.kind != "marketing":
            raise Invalid("only marketing notices go as mass sends", ("mass",))
        return self


def _known_kinds(tables):
    unknown = sorted(set(tables) - set(NOTICE_KINDS)) if isinstance(tables, dict) else []
    if unknown:
        raise Invalid(f"unknown key (the notice kinds are {', '.join(NOTICE_KINDS)})", (unknown[0],))
    return tables


# The `[notices]` section: one table per kind (`[notices.points_earned]`, …).
NoticesRules = Annotated[dict[str, NoticeKind], BeforeValidator(_known_kinds)]


def notice_kind(notices: dict[str, NoticeKind], kind: str) -> NoticeKind | None:
    """The kind's table, when it is on."""
    found = notices.get(kind)
    return found if found is not None and found.enabled else None


class Notifier(Protocol):
    """Where the core's services tell a member something (the bot makes it a push): once per (kind, ref)."""
    async def notify(self, member_id: str, kind: str, values: Mapping[str, Any], ref: str,
                     at: datetime | None = None, topic: str | None = None) -> Any:
        """`topic`: where the push side counts it (default: the kind)."""
