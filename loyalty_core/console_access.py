"""Who may do what in the operator console, what a password must be, and how a form proves it came from the
console's own page. Pure rules: no web, no storage.

Roles and their permissions (an admin has every permission):
  marketer           the dashboard, members (read), campaigns and segments, the catalogue and coupon templates
  community_manager  the dashboard, members (read), communities and their broadcasts, events
  service_staff      members (read and the staff actions: points, coupons, notices, a member's data export), the
                     birthdays of the week, the feedback inbox
A member's erasure is for admins only.
A page or action names the permission it needs; a role without it gets 403 Forbidden.
"""
from __future__ import annotations

import hmac
import re
import secrets
from enum import Enum

from . import errors


class Permission(str, Enum):
    DASHBOARD = "dashboard"
    MEMBERS_VIEW = "members.view"
    MEMBERS_ACT = "members.act"           # staff actions on a member, each with a reason; a member's data export
    MEMBERS_ERASE = "members.erase"       # a member's personal data erased on request (admins only)
    CAMPAIGNS = "campaigns"               # edit, schedule and cancel campaigns; read their results
    USERS = "users"                       # the console's users
    AUDIT = "audit"                       # the audit log
    COMMUNITIES = "communities"           # communities, their managers and broadcasts
    EVENTS = "events"                     # events: publish, sign-ups, check-in, invitations, feedback
    CATALOGUE = "catalogue"               # the rewards catalogue and the coupon templates
    FEEDBACK = "feedback"                 # the feedback inbox: suggestions, survey answers, event comments
    MEMBERS_IMPORT = "members.import"     # import members from a CSV (admin only: it creates members in bulk)


ROLES: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "marketer": frozenset({Permission.DASHBOARD, Permission.MEMBERS_VIEW, Permission.CAMPAIGNS,
                           Permission.CATALOGUE}),
    "community_manager": frozenset({Permission.DASHBOARD, Permission.MEMBERS_VIEW, Permission.COMMUNITIES,
                                    Permission.EVENTS}),
    "service_staff": frozenset({Permission.MEMBERS_VIEW, Permission.MEMBERS_ACT, Permission.FEEDBACK}),
}
ROLE_NAMES = {"admin": "管理员 admin", "marketer": "营销 marketer", "community_manager": "社群运营 community manager",
              "service_staff": "客服 service staff"}

MIN_PASSWORD = 12
MAX_PASSWORD = 128                        # argon2 hashes any length; a limit keeps a login request small
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")
CSRF_BYTES = 32


def may(role: str, permission: Permission) -> bool:
    return permission in ROLES.get(role, frozenset())


def checked_role(role: str) -> str:
    if role not in ROLES:
        raise errors.InvalidConsoleUser(f"role must be one of {', '.join(ROLES)}")
    return role


def checked_email(email: str) -> str:
    """The address, trimmed and lower-cased: the user's natural key (`admin@demo` is valid: no dot needed)."""
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise errors.InvalidConsoleUser("the email address is not valid")
    return email


def check_password_policy(password: str, email: str) -> None:
    """At least 12 characters, not all one kind of character, and not the address itself."""
    if len(password) < MIN_PASSWORD:
        raise errors.WeakPassword(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise errors.WeakPassword(f"a password may have at most {MAX_PASSWORD} characters")
    if len(set(password)) < 5:
        raise errors.WeakPassword("a password needs at least 5 different characters")
    if email.split("@")[0].lower() in password.lower():
        raise errors.WeakPassword("a password may not contain the email's name")


def new_token() -> str:
    """A session id or a CSRF token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(CSRF_BYTES)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Whether a form's token is the session's (in constant time; a missing one never matches)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
