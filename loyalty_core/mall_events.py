"""Member events: publishing, sign-up with a waitlist, cancellation with promotion, reminders, check-in with
activity points, feedback, and the invitations.

Exactly once. A sign-up, a cancellation, a check-in and a feedback are each one script in the event's slot
(places cannot exceed the capacity however many members sign up at once; the waitlist keeps arrival order);
the member's own list of events follows, idempotently. What members are told goes through the notices (the
push side), each once by its dedup key: the promoted member once per event (the reminders job tells again any
promotion whose notice a crash cut short: the same key, no second message), each reminder once per event and
member however often the job runs, the feedback request once.

The invitations are a campaign (`CampaignService.launch`, id `event-<event_id>`): its segment is the event's
audience — the community's members for a community event, the tiers from `min_tier` up, and the conditions of a
segment staff add — and its one variant is the program's `event_invitation` text with the event's title, time,
place, places left and how to sign up. So the planner's channels, caps and quiet hours apply as to every campaign,
and the invitation is measured with the campaign's results. Inviting again takes up the same campaign (a send a
crash cut short goes on; nobody is invited twice); another segment is another campaign of its own.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Awaitable, Callable, Protocol

from . import errors
from .clock import MALL_TZ, Clock
from .communities import CommunityService
from .event_rules import EventRules, MallEvent, check_signup, feedback_open, parse_event, reminder_due
from .notices import Notifier

LISTED = 20                      # open events a member sees at once
STAFF_LISTED = 50                # events staff see at once
HORIZON = timedelta(days=366)    # how far ahead events are listed
SCORES = range(1, 6)
COMMENT_MAX_CHARS = 200


@dataclass(frozen=True)
class Place:
    event: MallEvent
    status: str                  # confirmed | waitlisted
    position: int = 0            # waitlisted: 1 = next to get a place
    already: bool = False        # the member had it before this sign-up


@dataclass(frozen=True)
class Cancelled:
    event: MallEvent
    was: str                     # confirmed | waitlisted
    promoted: str | None = None  # the member who got the place


@dataclass(frozen=True)
class Listing:
    event: MallEvent
    places_left: int
    waitlist: int


@dataclass(frozen=True)
class EventCounts:
    confirmed: int
    waitlist: int
    checked_in: int
    feedback_count: int
    feedback_sum: int

    def to_dict(self) -> dict:
        average = round(self.feedback_sum / self.feedback_count, 2) if self.feedback_count else None
        return {"confirmed": self.confirmed, "waitlist": self.waitlist, "checked_in": self.checked_in,
                "feedback": {"count": self.feedback_count, "average": average}}


@dataclass(frozen=True)
class SignUps:
    confirmed: list[str]         # member ids with a place, in arrival order
    waitlist: list[str]          # member ids waiting, next first
    checked_in: set[str]         # of the confirmed, those who came


@dataclass(frozen=True)
class Feedback:
    score: int
    comment: str
    at: str

    def to_dict(self) -> dict:
        return {"score": self.score, "comment": self.comment, "at": self.at}

    @classmethod
    def from_dict(cls, raw: dict) -> "Feedback":
        return cls(int(raw["score"]), raw.get("comment", ""), raw["at"])


@dataclass(frozen=True)
class CheckIn:
    event: MallEvent
    member_id: str
    first: bool
    points: int


class EventStore(Protocol):
    async def save(self, event: MallEvent) -> MallEvent: ...
    async def get(self, event_id: str) -> MallEvent | None: ...
    async def by_number(self, number: int) -> MallEvent | None: ...
    async def starting_between(self, start: datetime, end: datetime, limit: int) -> list[MallEvent]: ...
    async def started_before(self, moment: datetime, limit: int) -> list[MallEvent]:
        """Events that started before `moment`, the latest first."""
    async def seats(self, event_id: str, limit: int) -> list[str]: ...
    async def waitlist(self, event_id: str, limit: int) -> list[str]: ...
    async def feedback_entries(self, event_id: str, limit: int) -> list[tuple[str, Feedback]]: ...
    async def sign_up(self, event: MallEvent, member_id: str) -> Place: ...
    async def cancel(self, event: MallEvent, member_id: str) -> Cancelled: ...
    async def place_of(self, event: MallEvent, member_id: str) -> Place | None: ...
    async def events_of(self, member_id: str) -> set[str]: ...
    async def confirmed(self, event_id: str, cursor: int, count: int) -> tuple[int, list[str]]: ...
    async def checked_in(self, event_id: str, cursor: int, count: int) -> tuple[int, list[str]]: ...
    async def promoted(self, event_id: str) -> list[str]: ...
    async def seats_taken(self, event_id: str) -> int: ...
    async def check_in(self, event: MallEvent, member_id: str) -> bool: ...
    async def attended(self, event_id: str, member_id: str) -> bool: ...
    async def record_feedback(self, event: MallEvent, member_id: str, feedback: Feedback) -> Feedback: ...
    async def gave_feedback(self, event_id: str, member_id: str) -> bool: ...
    async def counts(self, event_id: str) -> EventCounts: ...


class Tiers(Protocol):
    async def status(self, member_id: str, now: datetime): ...       # -> TierStatus (its tier's code)


class Points(Protocol):
    async def grant(self, member_id: str, points: int, source: str, ref: str): ...


class Campaigns(Protocol):
    async def launch(self, campaign_id: str, name: str, segment: dict, variants: list[dict], **options) -> dict: ...
    async def stored(self, campaign_id: str) -> tuple[Any, Any]: ...     # (its .body, …); UnknownCampaign if none
    async def status(self, campaign_id: str) -> dict: ...


class InvitationTexts(Protocol):
    def text_of(self, kind: str, values: dict) -> tuple[str, bool] | None:
        """The notice kind's text for these values and whether it may go as a mass send; None when it is off."""


class MemberCodes(Protocol):
    async def use(self, code: str, txn_id: str) -> str: ...


class EventService:
    def __init__(self, store: EventStore, communities: CommunityService, tiers: Tiers, points: Points,
                 notices: Notifier, campaigns: Campaigns, texts: InvitationTexts, codes: MemberCodes,
                 rules: EventRules, tier_codes: tuple[str, ...], clock: Clock):
        self._store = store
        self._communities = communities
        self._tiers = tiers
        self._points = points
        self._notices = notices
        self._campaigns = campaigns
        self._texts = texts
        self._codes = codes
        self.rules = rules
        self._tier_codes = tier_codes
        self._clock = clock

    # -- staff -------------------------------------------------------------------------------------------------
    async def publish(self, raw: dict) -> MallEvent:
        event = parse_event(raw, self._tier_codes, self._clock.now())
        existing = await self._store.get(event.event_id)
        if existing is not None:
            if existing.definition() != event.definition():
                raise errors.EventConflict()
            return existing
        if event.community_id is not None:
            await self._communities.community(event.community_id)
        return await self._store.save(event)

    async def event(self, event_id: str) -> MallEvent:
        event = await self._store.get(event_id) if isinstance(event_id, str) and len(event_id) <= 48 else None
        if event is None:
            raise errors.UnknownEvent()
        return event

    async def counts(self, event_id: str) -> EventCounts:
        return await self._store.counts((await self.event(event_id)).event_id)

    async def check_in(self, event_id: str, member_code: str) -> CheckIn:
        """At the event desk: the member code names the member (once for this event's check-in), attendance is
        recorded once and the activity points are granted once."""
        event = await self.event(event_id)
        member_id = await self._codes.use(member_code, f"event-checkin:{event.event_id}")
        return await self._arrived(event, member_id)

    async def check_in_member(self, event_id: str, member_id: str) -> CheckIn:
        """Staff check a member in by member id (a member without their code at hand); as check_in."""
        return await self._arrived(await self.event(event_id), member_id)

    async def _arrived(self, event: MallEvent, member_id: str) -> CheckIn:
        first = await self._store.check_in(event, member_id)
        points = self.rules.checkin_points
        if points:
            await self._points.grant(member_id, points, "event_checkin", f"event:{event.event_id}")
        return CheckIn(event, member_id, first, points)

    async def invite(self, event_id: str, segment: Any = None) -> dict:
        """The invitations as a campaign to the event's audience (narrowed by `segment`, when given); the
        campaign's status."""
        event = await self.event(event_id)
        if self._clock.now() >= event.signup_deadline:
            raise errors.SignupClosed()
        audience = invitation_segment(event, self._tier_codes, segment)
        campaign_id = invitation_campaign_id(event.event_id, segment)
        try:
            stored, _ = await self._campaigns.stored(campaign_id)
        except errors.UnknownCampaign:
            text, mass = await self._invitation(event)
            variants = [{"name": INVITATION_VARIANT, "weight": Decimal(1), "text": text}]
        else:                      # invited before: the same body (its places left then), taken up where it stopped
            audience, variants = stored.body["segment"], stored.body["variants"]
            mass = stored.body["channels"]["mass_send"]
        await self._campaigns.launch(campaign_id, f"活动邀请：{event.title}"[:64], audience, variants,
                                     holdout=Decimal(0), mass_send=mass)
        return await self._campaigns.status(campaign_id)

    async def _invitation(self, event: MallEvent) -> tuple[str, bool]:
        """The invitation's text (as a campaign text: literal) and whether it may go as a mass send."""
        places_left = max(0, event.capacity - await self._store.seats_taken(event.event_id))
        found = self._texts.text_of("event_invitation", self._values(event) | {
            "name": ALL_MEMBERS, "places_left": places_left, "capacity": event.capacity})
        if found is None:
            raise errors.InvalidRequest("invitations are off: the program has no [notices.event_invitation]")
        return literal(found[0]), found[1]

    async def upcoming(self, limit: int = STAFF_LISTED) -> list[MallEvent]:
        """Events not over yet, soonest first (for staff)."""
        now = self._clock.now()
        return [event for event in await self._store.starting_between(now - timedelta(days=31), now + HORIZON,
                                                                      limit * 5) if event.ends_at > now][:limit]

    async def past(self, limit: int = STAFF_LISTED) -> list[MallEvent]:
        """Events over, the latest first (for staff)."""
        now = self._clock.now()
        return [event for event in await self._store.started_before(now, limit * 5) if event.ends_at <= now][:limit]

    async def sign_ups(self, event_id: str, limit: int = STAFF_LISTED * 10) -> SignUps:
        """Who has a place (in arrival order) and who waits (in the waitlist's order), at most `limit` of each."""
        event = await self.event(event_id)
        confirmed = await self._store.seats(event.event_id, limit)
        came = {member_id for member_id in confirmed if await self._store.attended(event.event_id, member_id)}
        return SignUps(confirmed, await self._store.waitlist(event.event_id, limit), came)

    async def feedback(self, event_id: str, limit: int = STAFF_LISTED * 10) -> list[tuple[str, Feedback]]:
        """(member id, feedback) of the event, newest first, at most `limit`."""
        event = await self.event(event_id)
        found = await self._store.feedback_entries(event.event_id, limit)
        return sorted(found, key=lambda entry: entry[1].at, reverse=True)

    # -- members -----------------------------------------------------------------------------------------------
    async def open_events(self) -> list[Listing]:
        now = self._clock.now()
        found = [event for event in await self._store.starting_between(now, now + HORIZON, LISTED * 5)
                 if now < event.signup_deadline][:LISTED]
        listed = []
        for event in found:
            taken = await self._store.seats_taken(event.event_id)
            listed.append(Listing(event, max(0, event.capacity - taken), 0))
        return listed

    async def sign_up(self, member_id: str, number: int) -> Place:
        event = await self._numbered(number)
        place = await self._store.place_of(event, member_id)
        if place is not None:
            return Place(event, place.status, place.position, already=True)
        in_community = event.community_id is not None and \
            await self._communities.is_in(member_id, event.community_id)
        check_signup(event, await self._tier_of(member_id), self._tier_codes, in_community, self._clock.now())
        return await self._store.sign_up(event, member_id)

    async def cancel(self, member_id: str, number: int) -> Cancelled:
        event = await self._numbered(number)
        if self._clock.now() >= event.starts_at:
            raise errors.EventStarted()
        cancelled = await self._store.cancel(event, member_id)
        if cancelled.promoted:
            await self._tell_promoted(event, cancelled.promoted)
        return cancelled

    async def mine(self, member_id: str) -> list[Place]:
        now, places = self._clock.now(), []
        for event_id in await self._store.events_of(member_id):
            event = await self._store.get(event_id)
            place = await self._store.place_of(event, member_id) if event and event.ends_at > now else None
            if place is not None:
                places.append(place)
        return sorted(places, key=lambda place: place.event.starts_at)

    async def give_feedback(self, member_id: str, score: int, comment: str) -> tuple[MallEvent, Feedback]:
        """The member's answer to the feedback request of the latest event they came to."""
        if score not in SCORES:
            raise errors.InvalidRequest("score must be 1 to 5")
        event = await self.awaiting_feedback(member_id)
        if event is None:
            raise errors.NoFeedbackDue()
        feedback = Feedback(score, " ".join(comment.split())[:COMMENT_MAX_CHARS],
                            self._clock.now().astimezone(MALL_TZ).isoformat())
        return event, await self._store.record_feedback(event, member_id, feedback)

    async def awaiting_feedback(self, member_id: str) -> MallEvent | None:
        now, due = self._clock.now(), []
        for event_id in await self._store.events_of(member_id):
            event = await self._store.get(event_id)
            if event and feedback_open(event, self.rules.feedback, now) and \
                    await self._store.attended(event_id, member_id) and \
                    not await self._store.gave_feedback(event_id, member_id):
                due.append(event)
        return max(due, key=lambda event: event.ends_at, default=None)

    async def _numbered(self, number: int) -> MallEvent:
        event = await self._store.by_number(number)
        if event is None:
            raise errors.UnknownEvent()
        return event

    async def _tier_of(self, member_id: str) -> str:
        return (await self._tiers.status(member_id, self._clock.now())).tier.code

    # -- the scheduler ------------------------------------------------------------------------------------------
    async def send_due(self) -> dict[str, int]:
        """The reminders due now, the feedback requests of events just over, and any promotion not yet told.
        Each message once, however often this runs."""
        now, told = self._clock.now(), {"reminders": 0, "feedback": 0, "promotions": 0}
        longest = timedelta(hours=max(self.rules.reminder_hours, default=0))
        since = now - self.rules.feedback - timedelta(days=31)      # events last at most 30 days
        for event in await self._store.starting_between(since, now + longest, 10_000):
            for hours in self.rules.reminder_hours:
                if reminder_due(event, hours, self.rules.reminder_hours, now):
                    told["reminders"] += await self._each(event, self._store.confirmed, self._reminder(event, hours))
            if feedback_open(event, self.rules.feedback, now):
                told["feedback"] += await self._each(event, self._store.checked_in, self._feedback_request(event))
            if event.starts_at > now:
                for member_id in await self._store.promoted(event.event_id):
                    told["promotions"] += await self._tell_promoted(event, member_id)
        return told

    async def _each(self, event: MallEvent, pages, tell: Callable[[str], Awaitable[bool]]) -> int:
        """Tell each member of the scanned set once (a scan may return one twice while Redis resizes it)."""
        cursor, told = None, set()
        while cursor != 0:
            cursor, found = await pages(event.event_id, cursor or 0, 500)
            for member_id in found:
                if member_id not in told and await tell(member_id):
                    told.add(member_id)
        return len(told)

    def _reminder(self, event: MallEvent, hours: int) -> Callable[[str], Awaitable[bool]]:
        return self._teller(event, "event_reminder", f"{event.event_id}:{hours}h", f"reminder-{hours}h", hours=hours)

    def _feedback_request(self, event: MallEvent) -> Callable[[str], Awaitable[bool]]:
        return self._teller(event, "event_feedback", event.event_id, "feedback")

    async def _tell_promoted(self, event: MallEvent, member_id: str) -> bool:
        return await self._teller(event, "event_promoted", event.event_id, "promoted")(member_id)

    def _teller(self, event: MallEvent, kind: str, ref: str, topic: str, **extra) -> Callable[[str], Awaitable[bool]]:
        """Tells one member the notice `kind` of the event, once per (kind, ref), under `event:<id>:<topic>`."""
        values = self._values(event) | extra

        async def tell(member_id: str) -> bool:
            record = await self._notices.notify(member_id, kind, values, ref, topic=f"event:{event.event_id}:{topic}")
            return record is not None
        return tell

    @staticmethod
    def _values(event: MallEvent) -> dict:
        return {"title": event.title, "starts_at": event.starts_at, "place": event.place, "notes": event.notes,
                "number": event.number}


INVITATION_VARIANT = "invitation"
ALL_MEMBERS = "尊敬的会员"          # the name in an invitation: one text for the whole audience


def invitation_campaign_id(event_id: str, segment: Any) -> str:
    """`event-<event_id>`, and a suffix of its own for each narrower segment staff give (a campaign id is at most
    48 characters: a long event id is shortened and made unique by its digest)."""
    suffix = f"-{_digest(segment)}" if segment else ""
    campaign_id = f"event-{event_id}{suffix}"
    if len(campaign_id) > 48:
        campaign_id = f"event-{event_id[:48 - 6 - 9 - len(suffix)]}-{_digest(event_id)}{suffix}"
    return campaign_id


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, default=str, sort_keys=True).encode()).hexdigest()[:8]


def invitation_segment(event: MallEvent, tier_codes: tuple[str, ...], segment: Any) -> dict:
    """The event's audience as a campaign segment: its community, the tiers from `min_tier` up, AND-ed with the
    conditions staff give (which cannot widen it)."""
    if segment is not None and not isinstance(segment, dict):
        raise errors.InvalidRequest("segment must be an object of segment conditions")
    audience = dict(segment or {})
    if event.community_id is not None:
        given = audience.get("communities")
        if given is not None and (not isinstance(given, list) or event.community_id not in given):
            raise errors.InvalidRequest(f"segment.communities: the event is for the members of "
                                        f"{event.community_id!r}")
        audience["communities"] = [event.community_id]
    if event.min_tier is not None:
        allowed = list(tier_codes[tier_codes.index(event.min_tier):])
        given = audience.get("tiers")
        if isinstance(given, list):
            allowed = [tier for tier in allowed if tier in given]
            if not allowed:
                raise errors.InvalidRequest(f"segment.tiers: the event is for {event.min_tier!r} and above")
        if given is None or isinstance(given, list):     # anything else is left for the segment's check to name
            audience["tiers"] = allowed
    return audience


def literal(text: str) -> str:
    """A finished text as a campaign text (a jinja2 template): the braces of a title or place cannot start a
    template tag (they are shown full-width)."""
    return text.replace("{", "｛").replace("}", "｝")
