"""Everything the platform remembers about one official account, in memory, keyed for O(1) look-ups."""
from __future__ import annotations

import itertools
import secrets
import string
from collections import Counter, deque
from dataclasses import dataclass, field

from .errors import ApiError
from .rules import Window

TOKEN_SECONDS = 7200
TOKEN_RENEW_BEFORE = 300          # normal mode hands out a new token in the last 5 minutes
FORCE_SPACING_SECONDS = 30
FORCE_PER_DAY = 20
CLASSIC_OVERLAP_SECONDS = 300    # a classic token still works this long after the next one is issued
CONVERSATION_LIMIT = 2_000        # entries kept per member
_OPENID_ALPHABET = string.ascii_letters + string.digits + "-_"


def new_openid() -> str:
    return "o" + "".join(secrets.choice(_OPENID_ALPHABET) for _ in range(27))


@dataclass
class Member:
    openid: str
    nickname: str
    phone: str = ""
    subscribed: bool = False
    subscribe_time: int = 0
    subscribe_scene: str = ""
    qr_scene_str: str = ""
    tags: dict[int, None] = field(default_factory=dict)       # ordered set of tag ids
    window: Window | None = None
    mass_month: str = ""
    mass_count: int = 0
    consents: dict[str, int] = field(default_factory=dict)     # subscribe template id -> sends allowed
    conversation: list[dict] = field(default_factory=list)

    def summary(self, now: float) -> dict:
        window = None
        if self.window:
            w = self.window
            window = {"action": w.action, "opened_at": w.opened_at, "closes_at": w.closes_at(),
                      "limit": w.limit, "used": w.used, "open": now <= w.closes_at()}
        return {"openid": self.openid, "nickname": self.nickname, "phone": self.phone,
                "subscribed": self.subscribed, "subscribe_time": self.subscribe_time,
                "tags": list(self.tags), "window": window,
                "mass": {"month": self.mass_month, "count": self.mass_count},
                "consents": dict(self.consents)}


@dataclass
class Tag:
    id: int
    name: str
    members: dict[str, None] = field(default_factory=dict)    # ordered set of openids


@dataclass
class QrCode:
    ticket: str
    url: str
    action_name: str
    scene: str                       # scene_str, or the scene_id as text
    created_at: float
    expires_at: float | None         # None: permanent

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def view(self) -> dict:
        return {"ticket": self.ticket, "url": self.url, "action_name": self.action_name, "scene": self.scene,
                "created_at": self.created_at, "expires_at": self.expires_at}


@dataclass
class Media:
    media_id: str
    kind: str
    filename: str
    content_type: str
    data: bytes
    created_at: float


@dataclass
class Token:
    serial: int
    stable: bool                     # from stable_token, else from the classic /cgi-bin/token
    expires_at: float
    superseded_at: float | None = None


class Tokens:
    """The account's access tokens. The platform keeps the two endpoints' tokens apart:
    - stable_token: normal mode hands out the same token; force_refresh revokes the stable ones only;
    - the classic /cgi-bin/token: every call issues a new token, and the one before it keeps working for
      5 minutes (the documented overlap for a smooth hand-over), then answers 40001."""

    def __init__(self):
        self._tokens: dict[str, Token] = {}
        self._current_stable: str | None = None
        self._current_classic: str | None = None
        self._serials = itertools.count(1)
        self.latest_serial = 0
        self._forced: list[float] = []

    def stable(self, now: float, *, force: bool, day_of) -> tuple[str, int]:
        if force and not self._too_soon_to_force(now):
            if sum(1 for at in self._forced if day_of(at) == day_of(now)) >= FORCE_PER_DAY:
                raise ApiError(45009)
            self._forced.append(now)
            for token in [t for t, info in self._tokens.items() if info.stable]:
                del self._tokens[token]
        current = self._tokens.get(self._current_stable or "")
        if current is None or now >= current.expires_at - TOKEN_RENEW_BEFORE:
            self._current_stable = self._new(now, stable=True)
            current = self._tokens[self._current_stable]
        return self._current_stable, max(int(current.expires_at - now), 0)

    def classic(self, now: float) -> tuple[str, int]:
        previous = self._tokens.get(self._current_classic or "")
        if previous is not None:
            previous.superseded_at = now
        self._current_classic = self._new(now, stable=False)
        return self._current_classic, TOKEN_SECONDS

    def _too_soon_to_force(self, now: float) -> bool:
        # The platform ignores a force within 30 s of the previous one and answers the current token.
        return bool(self._forced) and now - self._forced[-1] < FORCE_SPACING_SECONDS

    def _new(self, now: float, *, stable: bool) -> str:
        for token in [t for t, info in self._tokens.items() if info.expires_at < now - 86400]:
            del self._tokens[token]
        self.latest_serial = next(self._serials)
        token = f"{self.latest_serial}_{secrets.token_urlsafe(120)}"
        self._tokens[token] = Token(self.latest_serial, stable, now + TOKEN_SECONDS)
        return token

    def check(self, token: str | None, now: float) -> int:
        """The token's serial number if valid, else raises 41001/40001/42001."""
        if not token:
            raise ApiError(41001)
        info = self._tokens.get(token)
        if info is None or (info.superseded_at is not None and now >= info.superseded_at + CLASSIC_OVERLAP_SECONDS):
            raise ApiError(40001)
        if now >= info.expires_at:
            raise ApiError(42001)
        return info.serial


class Ids:
    """Message ids as the platform makes them: increasing, 64-bit-looking."""

    def __init__(self, wall_seconds: float):
        self._msg = itertools.count(int(wall_seconds) * 1_000_000_000 + secrets.randbelow(1_000_000))
        self._mass = itertools.count(1_000_000_001)
        self._mass_data = itertools.count(2_247_480_001)
        self._template = itertools.count(200_228_332)
        self._seq = itertools.count(1)

    def msg_id(self) -> int:
        return next(self._msg)

    def mass_id(self) -> tuple[int, int]:
        return next(self._mass), next(self._mass_data)

    def template_msgid(self) -> int:
        return next(self._template)

    def seq(self) -> int:
        return next(self._seq)


def new_ticket() -> str:
    # Real tickets are standard base64 (with + / =): clients must URL-encode them.
    return "gQ" + secrets.token_urlsafe(60).replace("-", "+").replace("_", "/") + "=="


class Account:
    """The platform's memory of one official account."""

    def __init__(self, wall_seconds: float, history_limit: int):
        self.ids = Ids(wall_seconds)
        self.tokens = Tokens()
        self.members: dict[str, Member] = {}
        self.followers: dict[str, None] = {}                   # subscribed openids, in follow order
        self.tags: dict[int, Tag] = {}
        self.tag_ids = itertools.count(100)                    # 0-99 are the platform's own
        self.qrcodes: dict[str, QrCode] = {}
        self.permanent_qrcodes = 0
        self.media: dict[str, Media] = {}
        self.menu: list[dict] | None = None
        self.client_msg_ids: dict[str, tuple[int, float]] = {}
        self.mass_calls: deque[float] = deque()
        self.daily_calls: Counter[tuple[str, str]] = Counter()
        self.deliveries: list[dict] = []                       # every message to a member, in order
        self.delivered = Counter()                             # channel -> count
        self.sms: list[dict] = []
        self.calls: deque[dict] = deque(maxlen=history_limit)
        self.call_counts: Counter[tuple[str, int]] = Counter()  # (endpoint, errcode) -> count
        self.callbacks: deque[dict] = deque(maxlen=history_limit)
        self.in_flight: Counter[str] = Counter()
        self.peak_in_flight: Counter[str] = Counter()

    def member(self, openid: str) -> Member:
        member = self.members.get(openid or "")
        if member is None:
            raise ApiError(40003)
        return member

    def follower(self, openid: str) -> Member:
        member = self.members.get(openid or "")
        if member is None or not member.subscribed:
            raise ApiError(43004)
        return member

    def add_member(self, openid: str | None = None, nickname: str = "", phone: str = "") -> Member:
        openid = openid or new_openid()
        member = self.members.get(openid)
        if member is None:
            member = self.members[openid] = Member(openid, nickname or f"会员{len(self.members) + 1}", phone)
        else:
            member.nickname = nickname or member.nickname
            member.phone = phone or member.phone
        return member

    def set_following(self, member: Member, following: bool, now: float, scene: str = "", qr_scene: str = "") -> None:
        member.subscribed = following
        if following:
            member.subscribe_time = int(now)
            member.subscribe_scene = scene
            member.qr_scene_str = qr_scene
            self.followers[member.openid] = None
        else:
            self.followers.pop(member.openid, None)
            member.window = None

    def record(self, member: Member | None, entry: dict) -> dict:
        """Adds a conversation entry (a delivery, a member message, a system notice) with a sequence number."""
        entry["seq"] = self.ids.seq()
        if member is not None:
            entry["openid"] = member.openid
            member.conversation.append(entry)
            if len(member.conversation) > 2 * CONVERSATION_LIMIT:
                del member.conversation[:CONVERSATION_LIMIT]
        if entry.get("direction") == "out":
            self.deliveries.append(entry)
            self.delivered[entry["channel"]] += 1
        return entry
