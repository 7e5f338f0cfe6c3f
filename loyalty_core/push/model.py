"""A push, its content per channel, its recorded life and the facts the planner decides on.

A push is one message to one member that nobody asked for this second. Its `topic` says where it came
from (`points_earned`, `campaign:<id>`, `event:<id>:reminder-24h`, …); its `dedup_key` (the topic unless
the producer says otherwise) keeps the same thing from reaching a member twice, however often it is planned.

Content is given per channel, because each channel shows different things. A push without content for a
channel cannot use it:
- `custom`: a customer-service message, e.g. {"msgtype": "text", "text": {"content": "…"}};
- `template` / `subscribe`: a notice, short keyword fields (WeChat shows at most 20 characters of each,
  on one line, since 2023-05) and a link for the rest;
- `mass`: mass-send content, e.g. {"msgtype": "text", "text": {"content": "…"}}; giving it is how a topic
  opts in to mass sends.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from .. import errors
from ..clock import MALL_TZ, epoch_ms, from_epoch_ms

Kind = Literal["service", "marketing"]
Urgency = Literal["now", "today", "any"]
Channel = Literal["custom", "template", "subscribe", "mass"]
KINDS: tuple[str, ...] = ("service", "marketing")
URGENCIES: tuple[str, ...] = ("now", "today", "any")         # most urgent first

# The recorded life of a push.
PLANNED, DEFERRED, PENDING_INBOX, QUEUED = "planned", "deferred", "pending_inbox", "queued"
IN_FLIGHT, SENT, FAILED, IN_DOUBT, DROPPED, EXPIRED = "in_flight", "sent", "failed", "in_doubt", "dropped", "expired"
WAITING = frozenset({PLANNED, DEFERRED, PENDING_INBOX})      # the planner may (re)decide these
FINAL = frozenset({SENT, FAILED, IN_DOUBT, DROPPED, EXPIRED})

NOTICE_FIELD_MAX_CHARS = 20      # what WeChat shows of a template or subscribe keyword field
CUSTOM_TEXT_MAX_CHARS = 2_000
ID_MAX_CHARS = 128
CUSTOM_TYPES = frozenset({"text", "image", "news", "mpnews", "msgmenu", "wxcard", "miniprogrampage"})
MASS_TYPES = frozenset({"text", "image", "mpnews", "mpvideo", "wxcard"})


@dataclass(frozen=True)
class Notice:
    """A template or subscribe message: keyword fields (name -> value) and where the details are."""
    template_id: str
    fields: Mapping[str, str]
    url: str = ""                # template: the message's url; subscribe: the mini-program page

    def __post_init__(self):
        _require(self.template_id, "template_id")
        if not self.fields:
            raise errors.InvalidPush("a notice needs at least one keyword field")
        for name, value in self.fields.items():
            _require(name, "a keyword field's name")
            if not isinstance(value, str) or not value.strip():
                raise errors.InvalidPush(f"keyword field {name!r} is empty")
            if len(value) > NOTICE_FIELD_MAX_CHARS or "\n" in value:
                raise errors.InvalidPush(f"keyword field {name!r}: at most {NOTICE_FIELD_MAX_CHARS} characters "
                                         "on one line (put the rest behind the url)")

    def data(self) -> dict:
        """The `data` object of the API call."""
        return {name: {"value": value} for name, value in self.fields.items()}

    def to_dict(self) -> dict:
        return {"template_id": self.template_id, "fields": dict(self.fields), "url": self.url}

    @classmethod
    def from_dict(cls, raw: Mapping) -> "Notice":
        return _stored(cls, template_id=raw["template_id"], fields=dict(raw["fields"]), url=raw.get("url", ""))


MASS_AS_CUSTOM = "custom"        # a stored push's mass message that is its customer-service one


@dataclass(frozen=True)
class Content:
    custom: Mapping[str, Any] | None = None
    template: Notice | None = None
    subscribe: Notice | None = None
    mass: Mapping[str, Any] | None = None

    def __post_init__(self):
        if self.custom is not None:
            _check_message(self.custom, CUSTOM_TYPES, "custom")
        if self.mass is not None:
            _check_message(self.mass, MASS_TYPES, "mass")
        if self.custom is None and self.template is None and self.subscribe is None and self.mass is None:
            raise errors.InvalidPush("a push needs content for at least one channel")

    @classmethod
    def text(cls, text: str, **others) -> "Content":
        """A customer-service text, and whatever else is given."""
        return cls(custom={"msgtype": "text", "text": {"content": text}}, **others)

    def offers(self, channel: str) -> bool:
        return getattr(self, channel) is not None

    def to_dict(self) -> dict:
        """Only the channels it has content for; a mass message the same as the customer-service one is stored
        as "custom" (a campaign's text is usually both), not twice."""
        mass = MASS_AS_CUSTOM if self.mass is not None and self.mass == self.custom else self.mass
        raw = {"custom": self.custom, "mass": mass,
               "template": self.template.to_dict() if self.template else None,
               "subscribe": self.subscribe.to_dict() if self.subscribe else None}
        return {channel: content for channel, content in raw.items() if content is not None}

    @classmethod
    def from_dict(cls, raw: Mapping) -> "Content":
        notice = lambda name: Notice.from_dict(raw[name]) if raw.get(name) else None  # noqa: E731
        mass = raw.get("custom") if raw.get("mass") == MASS_AS_CUSTOM else raw.get("mass")
        return _stored(cls, custom=raw.get("custom") or None, template=notice("template"),
                       subscribe=notice("subscribe"), mass=mass or None)


@dataclass(frozen=True)
class Push:
    push_id: str
    member_id: str
    kind: Kind
    topic: str
    not_after: datetime
    content: Content
    urgency: Urgency = "any"
    dedup_key: str = ""          # "" -> the topic: the same topic reaches a member once

    def __post_init__(self):
        _require(self.member_id, "member_id")
        _require(self.topic, "topic")
        if self.kind not in KINDS:
            raise errors.InvalidPush(f"kind must be one of {', '.join(KINDS)}")
        if self.urgency not in URGENCIES:
            raise errors.InvalidPush(f"urgency must be one of {', '.join(URGENCIES)}")
        if not isinstance(self.not_after, datetime) or self.not_after.tzinfo is None:
            raise errors.InvalidPush("not_after needs a time zone")
        if not isinstance(self.content, Content):
            raise errors.InvalidPush("content must be a Content")
        if not self.dedup_key:
            object.__setattr__(self, "dedup_key", self.topic)
        _require(self.dedup_key, "dedup_key")
        if not self.push_id:
            object.__setattr__(self, "push_id", push_id_for(self.dedup_key))
        _require(self.push_id, "push_id")
        if "|" in self.push_id or "|" in self.member_id:
            raise errors.InvalidPush("push_id and member_id may not contain '|'")

    def to_dict(self) -> dict:
        return {"push_id": self.push_id, "member_id": self.member_id, "kind": self.kind, "topic": self.topic,
                "urgency": self.urgency, "not_after_ms": epoch_ms(self.not_after), "dedup_key": self.dedup_key,
                "content": self.content.to_dict()}

    @classmethod
    def from_dict(cls, raw: Mapping) -> "Push":
        return _stored(cls, push_id=raw["push_id"], member_id=raw["member_id"], kind=raw["kind"], topic=raw["topic"],
                       urgency=raw["urgency"], not_after=from_epoch_ms(raw["not_after_ms"]),
                       dedup_key=raw["dedup_key"], content=Content.from_dict(raw["content"]))


def _stored(cls, **values):
    """An instance as it was stored: its values were checked when it was first made, so `from_dict` (the
    sender's hot path, twice per message) does not check them again."""
    instance = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(instance, name, value)
    return instance


def push_id_for(dedup_key: str) -> str:
    """The push id a producer gets when it names none: the same dedup key, the same push."""
    return hashlib.sha1(dedup_key.encode()).hexdigest()[:20]


def _require(value, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidPush(f"{name} is required")
    if len(value) > ID_MAX_CHARS:
        raise errors.InvalidPush(f"{name}: at most {ID_MAX_CHARS} characters")


def _is_mapping(value) -> bool:
    return type(value) is dict or isinstance(value, Mapping)      # a dict, nearly always: no ABC check for it


def _check_message(message: Mapping, types: frozenset[str], channel: str) -> None:
    msgtype = message.get("msgtype") if _is_mapping(message) else None
    if msgtype not in types or not _is_mapping(message.get(msgtype)):
        raise errors.InvalidPush(f"{channel} content needs a msgtype of {', '.join(sorted(types))} and its object")
    if msgtype == "text":
        text = message["text"].get("content")
        if not isinstance(text, str) or not text.strip():
            raise errors.InvalidPush(f"{channel} text is empty")
        if len(text) > CUSTOM_TEXT_MAX_CHARS:
            raise errors.InvalidPush(f"{channel} text: at most {CUSTOM_TEXT_MAX_CHARS} characters")


# -- what we know of the member ------------------------------------------------------------------------
# What each member action allows (the platform's rules since June 2023): the latest action replaces the
# window; a VIEW (link) tap opens none.
WINDOW_RULES: Mapping[str, tuple[timedelta, int]] = {
    "message": (timedelta(hours=48), 5),
    "click": (timedelta(minutes=1), 3),
    "follow": (timedelta(minutes=1), 3),
    "scan": (timedelta(minutes=1), 3),
}


@dataclass(frozen=True)
class Window:
    """The customer-service quota the member's latest action opened."""
    action: str
    opened_at: datetime
    closes_at: datetime
    limit: int
    used: int = 0

    @classmethod
    def opened_by(cls, action: str, at: datetime) -> "Window":
        seconds, limit = WINDOW_RULES[action]
        return cls(action, at, at + seconds, limit)

    def left(self, now: datetime, margin: timedelta) -> int:
        """Messages that may still go out now; none within `margin` of the close (a call takes time)."""
        if now + margin >= self.closes_at:
            return 0
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class MemberFacts:
    following: bool = True
    window: Window | None = None
    consents: Mapping[str, int] = field(default_factory=dict)   # subscribe template id -> sends left
    mass_this_month: int = 0                                     # mass messages counted this calendar month
    marketing_today: int = 0                                     # other marketing pushes counted today …
    marketing_this_week: int = 0                                 # … and this (Monday-based) week
    duplicate: bool = False                                      # another push had this dedup key
    closed: frozenset[str] = frozenset()                         # channels this push may not use now


# -- decisions and the record -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    status: str                      # queued | deferred | pending_inbox | dropped | expired
    channel: str | None = None       # queued: the channel
    until: datetime | None = None    # deferred: when to plan again; pending_inbox: how long it waits
    reason: str = ""                 # deferred, dropped: why

    @classmethod
    def send(cls, channel: str) -> "Decision":
        return cls(QUEUED, channel=channel)

    @classmethod
    def defer(cls, until: datetime, reason: str) -> "Decision":
        return cls(DEFERRED, until=until, reason=reason)

    @classmethod
    def inbox(cls, until: datetime) -> "Decision":
        return cls(PENDING_INBOX, until=until)

    @classmethod
    def drop(cls, reason: str) -> "Decision":
        return cls(DROPPED, reason=reason)

    @classmethod
    def expire(cls) -> "Decision":
        return cls(EXPIRED, reason="not_after passed")


@dataclass(frozen=True)
class PushRecord:
    """A push as recorded in its member's slot: where it is in its life."""
    push: Push
    status: str
    channel: str = ""
    until: datetime | None = None
    reason: str = ""
    attempt: int = 0                 # incremented each time it is queued: stale outbox entries are told apart
    retries: int = 0                 # sends that failed with a retryable error
    version: int = 0                 # incremented on every change (optimistic concurrency)
    batch: str = ""                  # mass: the batch it went out in

    @property
    def member_id(self) -> str:
        return self.push.member_id

    @property
    def push_id(self) -> str:
        return self.push.push_id

    def wake_at(self) -> datetime | None:
        """When the push must be looked at again, if nothing else happens first."""
        if self.status == DEFERRED:
            return self.until
        if self.status == PENDING_INBOX:
            return self.push.not_after
        return None

    @classmethod
    def from_dict(cls, raw: Mapping, push: Push | None = None) -> "PushRecord":
        """`push`: the record's push when it is at hand already (then its stored form is not read again)."""
        until = raw.get("until_ms")
        return cls(push=push or Push.from_dict(raw["push"]), status=raw["status"], channel=raw.get("channel") or "",
                   until=from_epoch_ms(until) if until else None, reason=raw.get("reason") or "",
                   attempt=int(raw.get("attempt") or 0), retries=int(raw.get("retries") or 0),
                   version=int(raw.get("v") or 0), batch=raw.get("batch") or "")


@dataclass(frozen=True)
class Delivery:
    """One step of a push's life, as the member's delivery log shows it."""
    at: datetime
    push_id: str
    topic: str
    kind: str
    status: str
    channel: str = ""
    reason: str = ""
    until: datetime | None = None

    @classmethod
    def from_dict(cls, raw: Mapping) -> "Delivery":
        return cls(at=from_epoch_ms(raw["at"]), push_id=raw["push_id"], topic=raw["topic"], kind=raw["kind"],
                   status=raw["status"], channel=raw.get("channel") or "", reason=raw.get("reason") or "",
                   until=from_epoch_ms(raw["until"]) if raw.get("until") else None)

    def to_dict(self) -> dict:
        return {"at": self.at.astimezone(MALL_TZ).isoformat(), "push_id": self.push_id, "topic": self.topic,
                "kind": self.kind, "status": self.status, "channel": self.channel or None,
                "reason": self.reason or None, "until": self.until.astimezone(MALL_TZ).isoformat() if self.until
                else None}
