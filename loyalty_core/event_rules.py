"""Member events (tastings, launches, salons, appreciation dinners): their definition and the rules of signing up.
Pure: no Redis, no clock of its own.

Priority window. `priority_tiers_hours` gives tiers a head start: general sign-up opens when the longest head
start has passed since the event was published, and a tier with a head start of H hours may sign up H hours
before that. A tier has the longest head start of its own and of the tiers below it (a Diamond member has
Platinum's too), so with {"diamond": 48, "platinum": 24} Diamond members sign up at once, Platinum members
after 24 hours and everyone else after 48.

Audience: an event of a community is for its members; an event with a `min_tier` for that tier and above.
Sign-up closes at `signup_deadline` (at the latest when the event starts).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Mapping, Sequence

from pydantic import Field

from . import errors
from .clock import MALL_TZ, epoch_ms
from .program_fields import Duration, Whole, rules

EVENT_FIELDS = frozenset({"event_id", "title", "starts_at", "ends_at", "place", "capacity", "community_id",
                          "min_tier", "priority_tiers_hours", "signup_deadline", "notes"})
_ID = re.compile(r"[A-Za-z0-9_.-]{1,48}")
MAX_CAPACITY = 100_000
MAX_HEAD_START_HOURS = 24 * 30
TEXT_LIMITS = {"title": 64, "place": 100, "notes": 500}


@rules
class EventRules:
    """The `[events]` section."""
    checkin_points: Annotated[int, Whole(0, 100_000)] = 50         # activity points for attending; 0 = none
    reminder_hours: tuple[Annotated[int, Whole(1, 168)], ...] = (24, 2)   # reminders this long before the start
    feedback: Annotated[timedelta, Duration("days", 1, 30)] = Field(timedelta(days=3), alias="feedback_days")
    every: Annotated[timedelta, Duration("minutes", 1, 60)] = Field(timedelta(minutes=10), alias="every_minutes")


@dataclass(frozen=True)
class MallEvent:
    event_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    signup_deadline: datetime
    published_at: datetime
    community_id: str | None = None
    min_tier: str | None = None
    priority_tiers_hours: Mapping[str, int] = field(default_factory=dict)
    notes: str = ""
    number: int = 0                   # 1, 2, …: what members type after 报名

    def to_dict(self) -> dict:
        """As the admin API shows it and Redis keeps it."""
        return {"event_id": self.event_id, "number": self.number, "title": self.title,
                "starts_at": _iso(self.starts_at), "ends_at": _iso(self.ends_at), "place": self.place,
                "capacity": self.capacity, "community_id": self.community_id, "min_tier": self.min_tier,
                "priority_tiers_hours": dict(self.priority_tiers_hours), "signup_deadline": _iso(self.signup_deadline),
                "notes": self.notes, "published_at": _iso(self.published_at)}

    def definition(self) -> dict:
        """What staff gave (a repeat of the same creation is told apart from a different one by this)."""
        return {k: v for k, v in self.to_dict().items() if k not in ("number", "published_at")}

    @classmethod
    def from_dict(cls, raw: Mapping) -> "MallEvent":
        moment = datetime.fromisoformat
        return cls(event_id=raw["event_id"], title=raw["title"], starts_at=moment(raw["starts_at"]),
                   ends_at=moment(raw["ends_at"]), place=raw["place"], capacity=int(raw["capacity"]),
                   signup_deadline=moment(raw["signup_deadline"]), published_at=moment(raw["published_at"]),
                   community_id=raw.get("community_id"), min_tier=raw.get("min_tier"),
                   priority_tiers_hours=dict(raw.get("priority_tiers_hours") or {}), notes=raw.get("notes", ""),
                   number=int(raw.get("number", 0)))

    @property
    def starts_ms(self) -> int:
        return epoch_ms(self.starts_at)


def _iso(moment: datetime) -> str:
    return moment.astimezone(MALL_TZ).isoformat()


# -- the definition staff send -----------------------------------------------------------------------------
def parse_event(raw: Mapping[str, Any], tier_codes: Sequence[str], now: datetime) -> MallEvent:
    """An event from the admin API's JSON, published now; InvalidRequest names the first field that is wrong."""
    unknown = sorted(set(raw) - EVENT_FIELDS)
    if unknown:
        raise errors.InvalidRequest(f"unknown field {unknown[0][:32]!r}")
    event_id = raw.get("event_id")
    if not isinstance(event_id, str) or not _ID.fullmatch(event_id):
        raise errors.InvalidRequest("event_id must be 1 to 48 of A-Z a-z 0-9 _ . -")
    starts_at, ends_at = _moment(raw, "starts_at"), _moment(raw, "ends_at")
    deadline = _moment(raw, "signup_deadline") if raw.get("signup_deadline") is not None else starts_at
    if not now < starts_at < ends_at or ends_at - starts_at > timedelta(days=30):
        raise errors.InvalidRequest("starts_at must be in the future and before ends_at (at most 30 days apart)")
    if not now < deadline <= starts_at:
        raise errors.InvalidRequest("signup_deadline must be in the future and not after starts_at")
    if starts_at - now > timedelta(days=366):
        raise errors.InvalidRequest("starts_at must be within a year")
    return MallEvent(
        event_id=event_id, title=_text(raw, "title"), starts_at=starts_at, ends_at=ends_at,
        place=_text(raw, "place"), capacity=_capacity(raw.get("capacity")), signup_deadline=deadline,
        published_at=now, community_id=_optional_id(raw, "community_id"),
        min_tier=_tier(raw.get("min_tier"), tier_codes, "min_tier", optional=True),
        priority_tiers_hours=_head_starts(raw.get("priority_tiers_hours"), tier_codes),
        notes=_text(raw, "notes", required=False))


def _moment(raw: Mapping, key: str) -> datetime:
    value = raw.get(key)
    try:
        parsed = datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise errors.InvalidTime(f"{key} must be an ISO 8601 time, e.g. 2026-03-01T19:00:00+08:00")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=MALL_TZ)


def _text(raw: Mapping, key: str, *, required: bool = True) -> str:
    value = raw.get(key, None if required else "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise errors.InvalidRequest(f"{key} must be {'non-empty ' if required else ''}text")
    if len(value) > TEXT_LIMITS[key]:
        raise errors.InvalidRequest(f"{key} must be at most {TEXT_LIMITS[key]} characters")
    return value.strip()


def _capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAPACITY:
        raise errors.InvalidRequest(f"capacity must be a whole number from 1 to {MAX_CAPACITY}")
    return value


def _optional_id(raw: Mapping, key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise errors.InvalidRequest(f"{key} must be null or an id of A-Z a-z 0-9 _ . -")
    return value


def _tier(value: Any, tier_codes: Sequence[str], key: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or value not in tier_codes:
        raise errors.InvalidRequest(f"{key} must be {'null or ' if optional else ''}one of {', '.join(tier_codes)}")
    return value


def _head_starts(value: Any, tier_codes: Sequence[str]) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.InvalidRequest("priority_tiers_hours must be an object of tier -> hours")
    for tier, hours in value.items():
        _tier(tier, tier_codes, "priority_tiers_hours")
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HEAD_START_HOURS:
            raise errors.InvalidRequest(f"priority_tiers_hours: hours must be whole numbers from 1 to "
                                        f"{MAX_HEAD_START_HOURS}")
    return dict(value)


# -- who may sign up, and when --------------------------------------------------------------------------------
def head_start(event: MallEvent, tier: str, tier_codes: Sequence[str]) -> timedelta:
    """The tier's own head start or the longest of the tiers below it (tier_codes: lowest first)."""
    rank = tier_codes.index(tier) if tier in tier_codes else 0
    hours = [h for t, h in event.priority_tiers_hours.items() if t in tier_codes and tier_codes.index(t) <= rank]
    return timedelta(hours=max(hours, default=0))


def signup_opens_at(event: MallEvent, tier: str, tier_codes: Sequence[str]) -> datetime:
    general = event.published_at + timedelta(hours=max(event.priority_tiers_hours.values(), default=0))
    return general - head_start(event, tier, tier_codes)


def check_signup(event: MallEvent, tier: str, tier_codes: Sequence[str], in_community: bool, now: datetime) -> None:
    """Raises why the member may not sign up now (the capacity is the store's to check, atomically)."""
    if now >= event.signup_deadline:
        raise errors.SignupClosed()
    if event.community_id is not None and not in_community:
        raise errors.EventNotForMember(reason="community")
    if event.min_tier is not None and tier_codes.index(tier) < tier_codes.index(event.min_tier):
        raise errors.EventNotForMember(reason="tier")
    opens = signup_opens_at(event, tier, tier_codes)
    if now < opens:
        raise errors.SignupNotOpen(opens_at=opens.astimezone(MALL_TZ))


def reminder_due(event: MallEvent, hours: int, reminder_hours: Sequence[int], now: datetime) -> bool:
    """The `hours`-before reminder is due: the start is within `hours`, and no shorter reminder is due yet
    (a 24-hour reminder not sent by the time the 2-hour one is due is not sent any more)."""
    left = event.starts_at - now
    if not timedelta(0) < left <= timedelta(hours=hours):
        return False
    shorter = [h for h in reminder_hours if h < hours]
    return not shorter or left > timedelta(hours=max(shorter))


def feedback_open(event: MallEvent, window: timedelta, now: datetime) -> bool:
    return event.ends_at <= now < event.ends_at + window
