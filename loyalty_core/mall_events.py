"""Member events: publishing, sign-up with a waitlist, cancellation with promotion, reminders, check-in with
activity points, feedback, and the invitations.

Exactly once. A sign-up, a cancellation, a check-in and a feedback are each one script in the event's slot
(places cannot exceed the capacity however many members sign up at once; the waitlist keeps arrival order);
the member's own list of events follows, idempotently. What members are told goes through the notices (the
push side), each once by its dedup key: the promoted member once per event (the reminders job tells again any
promotion whose notice a crash cut short: the same key, no second message), each reminder once per event and
member however often the job runs, the feedback request once.

The invitations go to the event's community, or to every follower who meets `min_tier`, as marketing pushes
of the topic `campaign:event:<event_id>`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import AsyncIterator, Awaitable, Callable, Protocol

from . import errors
from .clock import MALL_TZ, Clock
from .communities import CommunityService
from .event_rules import EventRules, MallEvent, check_signup, feedback_open, parse_event, reminder_due
from .notices import Notifier

LISTED = 20                      # open events a member sees at once
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


class Followers(Protocol):
    def following(self) -> AsyncIterator[str]: ...


class MemberCodes(Protocol):
    async def use(self, code: str, txn_id: str) -> str: ...


class EventService:
    def __init__(self, store: EventStore, communities: CommunityService, tiers: Tiers, points: Points,
                 notices: Notifier, followers: Followers, codes: MemberCodes, rules: EventRules,
                 tier_codes: tuple[str, ...], clock: Clock):
        self._store = store
        self._communities = communities
        self._tiers = tiers
        self._points = points
        self._notices = notices
        self._followers = followers
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
        first = await self._store.check_in(event, member_id)
        points = self.rules.checkin_points
        if points:
            await self._points.grant(member_id, points, "event_checkin", f"event:{event.event_id}")
        return CheckIn(event, member_id, first, points)

    async def invite(self, event_id: str) -> int:
        """Invitations to the event's audience as marketing pushes (once per member); how many were submitted."""
        event = await self.event(event_id)
        values = self._values(event)
        submitted = 0
        async for member_id in self._audience(event):
            await self._notices.notify(member_id, "event_invitation", values, event.event_id,
                                       topic=f"campaign:event:{event.event_id}")
            submitted += 1
        return submitted

    async def _audience(self, event: MallEvent) -> AsyncIterator[str]:
        if event.community_id is not None:
            async for member_id in self._communities.members(event.community_id):
                if await self._meets_tier(event, member_id):
                    yield member_id
            return
        async for member_id in self._followers.following():
            if await self._meets_tier(event, member_id):
                yield member_id

    async def _meets_tier(self, event: MallEvent, member_id: str) -> bool:
        if event.min_tier is None:
            return True
        return self._tier_codes.index(await self._tier_of(member_id)) >= self._tier_codes.index(event.min_tier)

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
