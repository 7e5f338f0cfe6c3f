"""The operator console's users, their sessions and the audit log of every change made through the console.

- A user is an email (the natural key), a role (loyalty_core/console_access.py) and a password hash (the hasher
  is a port: argon2id in the bot). A disabled user keeps their record and audit history but cannot log in, and
  their open sessions stop working at their next request. A user may be linked to a member (a WeChat follower):
  the console then acts as that member where the core asks who a community's manager is (broadcasts).
- A session is a random id given to the browser; Redis keeps only its SHA-256, with the user, the session's
  CSRF token and a sliding expiry (`idle_seconds`), never beyond `max_seconds` after the login.
- The audit log keeps who changed what, when and why, newest first; a change to a user is written with its
  audit entry in one script.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from . import errors
from .clock import Clock
from .console_access import checked_email, checked_role, check_password_policy, new_token

log = logging.getLogger("loyalty_core.console")
IDLE_SECONDS = 2 * 3600
MAX_SECONDS = 12 * 3600
AUDIT_PAGE = 200
MAX_LOGIN_FAILURES = 10           # failed logins of one address within the window, then it is refused a while
LOGIN_FAILURE_WINDOW = 15 * 60


@dataclass(frozen=True)
class ConsoleUser:
    email: str
    role: str
    created_at: str
    created_by: str
    disabled_at: str = ""
    member_id: str = ""            # the WeChat follower the user is, when linked

    @property
    def active(self) -> bool:
        return not self.disabled_at


@dataclass(frozen=True)
class Session:
    email: str
    role: str
    csrf: str
    created_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    at: str
    who: str
    action: str
    target: str
    reason: str = ""
    detail: str = ""

    def to_dict(self) -> dict:
        return {"at": self.at, "who": self.who, "action": self.action, "target": self.target,
                "reason": self.reason, "detail": self.detail}


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


class ConsoleStore(Protocol):
    async def add_user(self, user: ConsoleUser, password_hash: str, audit: AuditEntry) -> bool: ...
    async def user(self, email: str) -> tuple[ConsoleUser, str] | None: ...
    async def users(self) -> list[ConsoleUser]: ...
    async def update_user(self, email: str, changes: dict[str, str], audit: AuditEntry) -> bool: ...
    async def open_session(self, session_hash: str, session: Session, ttl: int) -> None: ...
    async def session(self, session_hash: str, ttl: int) -> Session | None: ...
    async def close_session(self, session_hash: str) -> None: ...
    async def login_failures(self, email_hash: str) -> int: ...
    async def login_failed(self, email_hash: str, window: int) -> int: ...
    async def login_succeeded(self, email_hash: str) -> None: ...
    async def audit(self, entry: AuditEntry) -> None: ...
    async def audit_log(self, count: int) -> list[AuditEntry]: ...


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class ConsoleAccounts:
    def __init__(self, store: ConsoleStore, hasher: PasswordHasher, clock: Clock, *,
                 idle_seconds: int = IDLE_SECONDS, max_seconds: int = MAX_SECONDS):
        self._store = store
        self._hasher = hasher
        self._clock = clock
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds

    # -- users ------------------------------------------------------------------------------------------------
    async def add_user(self, email: str, role: str, password: str, *, by: str) -> ConsoleUser:
        email, role = checked_email(email), checked_role(role)
        check_password_policy(password, email)
        user = ConsoleUser(email=email, role=role, created_at=self._now(), created_by=by)
        audit = self._entry(by, "user.add", email, detail=f"role={role}")
        if not await self._store.add_user(user, self._hasher.hash(password), audit):
            raise errors.ConsoleUserExists()
        return user

    async def set_password(self, email: str, password: str, *, by: str, reason: str) -> None:
        email = checked_email(email)
        check_password_policy(password, email)
        audit = self._entry(by, "user.password", email, reason)
        if not await self._store.update_user(email, {"password_hash": self._hasher.hash(password)}, audit):
            raise errors.UnknownConsoleUser()

    async def set_disabled(self, email: str, disabled: bool, *, by: str, reason: str) -> None:
        email = checked_email(email)
        if disabled and email == by:
            raise errors.InvalidConsoleUser("you cannot disable yourself")
        audit = self._entry(by, "user.disable" if disabled else "user.enable", email, reason)
        if not await self._store.update_user(email, {"disabled_at": self._now() if disabled else ""}, audit):
            raise errors.UnknownConsoleUser()

    async def users(self) -> list[ConsoleUser]:
        return await self._store.users()

    async def user(self, email: str) -> ConsoleUser:
        found = await self._store.user(email.strip().lower())
        if found is None:
            raise errors.UnknownConsoleUser()
        return found[0]

    async def link_member(self, email: str, member_id: str, *, by: str, reason: str) -> None:
        """The user is this member (a known member id: the caller looks it up) or, with "", no member."""
        email = checked_email(email)
        audit = self._entry(by, "user.link" if member_id else "user.unlink", email, reason, f"member={member_id}")
        if not await self._store.update_user(email, {"member_id": member_id}, audit):
            raise errors.UnknownConsoleUser()

    # -- sessions ---------------------------------------------------------------------------------------------
    async def log_in(self, email: str, password: str) -> tuple[str, Session]:
        """(the session id for the browser's cookie, the session); LoginFailed says nothing of which part was
        wrong. After 10 failures of one address in 15 minutes, LoginThrottled, without a password check."""
        email = email.strip().lower()
        hashed_email = hashlib.sha256(email.encode()).hexdigest()
        if await self._store.login_failures(hashed_email) >= MAX_LOGIN_FAILURES:
            raise errors.LoginThrottled()
        found = await self._store.user(email)
        if found is None or not found[0].active or not self._hasher.verify(found[1], password):
            await self._store.login_failed(hashed_email, LOGIN_FAILURE_WINDOW)
            raise errors.LoginFailed()
        await self._store.login_succeeded(hashed_email)
        user = found[0]
        session_id = new_token()
        session = Session(email=user.email, role=user.role, csrf=new_token(), created_at=self._clock.now())
        await self._store.open_session(session_hash(session_id), session, self.idle_seconds)
        await self._store.audit(self._entry(user.email, "login", user.email))
        return session_id, session

    async def session(self, session_id: str) -> Session | None:
        """The live session of that id (its expiry pushed on), or None: unknown, expired, past its maximum age,
        or its user since disabled or given another role."""
        if not session_id:
            return None
        hashed = session_hash(session_id)
        session = await self._store.session(hashed, self.idle_seconds)
        if session is None:
            return None
        found = await self._store.user(session.email)
        too_old = self._clock.now() - session.created_at > timedelta(seconds=self.max_seconds)
        if too_old or found is None or not found[0].active or found[0].role != session.role:
            await self._store.close_session(hashed)
            return None
        return session

    async def log_out(self, session_id: str, who: str) -> None:
        await self._store.close_session(session_hash(session_id))
        await self._store.audit(self._entry(who, "logout", who))

    # -- the audit log ----------------------------------------------------------------------------------------
    async def record(self, who: str, action: str, target: str, reason: str = "", detail: str = "") -> None:
        await self._store.audit(self._entry(who, action, target, reason, detail))

    async def audit_log(self, count: int = AUDIT_PAGE) -> list[AuditEntry]:
        return await self._store.audit_log(count)

    def _entry(self, who: str, action: str, target: str, reason: str = "", detail: str = "") -> AuditEntry:
        return AuditEntry(at=self._now(), who=who, action=action, target=target, reason=reason, detail=detail)

    def _now(self) -> str:
        return self._clock.now().isoformat(timespec="seconds")


def checked_reason(reason: str | None) -> str:
    """A staff action's reason: required, one line, at most 200 characters."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise errors.ReasonRequired()
    if len(reason) > 200:
        raise errors.ReasonRequired("a reason may have at most 200 characters")
    return reason
