"""The delivery planner: which channel a push may legally use now, or when to try again. Pure.

`plan(push, facts, now, policy)` decides in this order:
1. not following → dropped(unsubscribed); past `not_after` → expired; a second push with the same
   dedup key → dropped(duplicate);
2. marketing inside quiet hours → deferred to their end; marketing over a frequency cap → deferred to
   when the cap allows (the next day, the next week), or dropped(capped) when that is past `not_after`
   (dropped(quiet_hours) when the quiet hours outlast it);
3. an open customer-service window with quota left → a customer-service message;
4. a service notice with template content → a template message (never marketing);
5. subscribe content and a consent for its template → a subscribe message (the send uses the consent);
6. marketing with mass content and monthly mass quota left → a mass send (batched by the sender);
7. otherwise → the pending inbox until `not_after`, if the push can go as a customer-service message
   when the member writes again; else dropped(no_channel).

The resources a decision relies on (the window's quota, the consent, the monthly mass quota) are taken
atomically when the message goes out; the frequency caps when the push is queued. If one is gone by
then, the push is planned again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from ..program import PushRules, QuietHours
from . import hours
from .model import Decision, MemberFacts, Push

DAILY_CAP, WEEKLY_CAP, QUIET_HOURS = "daily_cap", "weekly_cap", "quiet_hours"


@dataclass(frozen=True)
class PushPolicy:
    quiet_hours: QuietHours | None = QuietHours(time(21, 30), time(9, 0))
    marketing_per_day: int = 1
    marketing_per_week: int = 3
    mass_per_month: int = 4              # the platform's limit for a service account's followers
    inbox_follow_ups: int = 3            # pending pushes that follow a member's message (of the window's 5)
    window_margin: timedelta = timedelta(seconds=5)   # a window closing sooner than this counts as closed
    resend_in_doubt: frozenset[str] = field(default_factory=frozenset)   # kinds sent again when in doubt

    def __post_init__(self):
        for name in ("marketing_per_day", "marketing_per_week", "mass_per_month", "inbox_follow_ups"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0")
        if self.window_margin < timedelta(0):
            raise ValueError("window_margin must not be negative")

    @classmethod
    def from_program(cls, rules: PushRules, **others) -> "PushPolicy":
        """The program file's [push] table (quiet hours, the caps), with this side's own defaults for the rest."""
        return cls(quiet_hours=rules.quiet_hours, marketing_per_day=rules.marketing_per_day,
                   marketing_per_week=rules.marketing_per_week, **others)


def plan(push: Push, facts: MemberFacts, now: datetime, policy: PushPolicy) -> Decision:
    if not facts.following:
        return Decision.drop("unsubscribed")
    if now >= push.not_after:
        return Decision.expire()
    if facts.duplicate:
        return Decision.drop("duplicate")
    if push.kind == "marketing":
        held = marketing_hold(facts, now, policy)
        if held is not None:
            until, reason = held
            if until >= push.not_after:
                return Decision.drop(QUIET_HOURS if reason == QUIET_HOURS else "capped")
            return Decision.defer(until, reason)
    channel = channel_for(push, facts, now, policy)
    if channel is not None:
        return Decision.send(channel)
    if push.content.offers("custom"):
        return Decision.inbox(push.not_after)
    return Decision.drop("no_channel")


def plan_each(situations: list[tuple[Push, MemberFacts]], now: datetime, policy: PushPolicy) -> list[Decision]:
    """`plan` for a batch of pushes (a campaign's): the same rules, each push on its own member's facts."""
    return [plan(push, facts, now, policy) for push, facts in situations]


def marketing_hold(facts: MemberFacts, now: datetime, policy: PushPolicy) -> tuple[datetime, str] | None:
    """The earliest moment a marketing push may go out, and why it must wait; None if it may go now."""
    if policy.marketing_per_day == 0 or policy.marketing_per_week == 0:
        return datetime.max.replace(tzinfo=now.tzinfo), DAILY_CAP
    until, reason = now, ""
    if facts.marketing_this_week >= policy.marketing_per_week:
        until, reason = hours.next_week(now), WEEKLY_CAP
    elif facts.marketing_today >= policy.marketing_per_day:
        until, reason = hours.next_day(now), DAILY_CAP
    if hours.in_quiet_hours(until, policy.quiet_hours):
        until, reason = hours.quiet_hours_end(until, policy.quiet_hours), reason or QUIET_HOURS
    return (until, reason) if until > now else None


def channel_for(push: Push, facts: MemberFacts, now: datetime, policy: PushPolicy) -> str | None:
    content = push.content

    def usable(channel: str) -> bool:
        return content.offers(channel) and channel not in facts.closed

    if usable("custom") and facts.window is not None and facts.window.left(now, policy.window_margin) > 0:
        return "custom"
    if push.kind == "service" and usable("template"):
        return "template"
    if usable("subscribe") and facts.consents.get(content.subscribe.template_id, 0) > 0:
        return "subscribe"
    if push.kind == "marketing" and usable("mass") and facts.mass_this_month < policy.mass_per_month:
        return "mass"
    return None
