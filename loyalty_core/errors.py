"""Domain errors: a stable code (used for chat templates and API bodies), a safe message, an HTTP status.

Messages must never contain personal data: they end up in logs and API answers.
"""
from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    http_status = 422
    message = "the request cannot be carried out"

    def __init__(self, message: str | None = None, **params):
        self.params = params
        super().__init__(message or self.message)

    @property
    def text(self) -> str:
        return str(self)


class UnknownMember(DomainError):
    code, http_status, message = "unknown_member", 404, "no such member"


class NotAMember(DomainError):
    """The WeChat user has no member record yet (e.g. never followed)."""
    code, http_status, message = "not_a_member", 404, "follow the account first"


class InvalidPhone(DomainError):
    code, message = "invalid_phone", "not a mainland China mobile number"


class PhoneTaken(DomainError):
    code, http_status, message = "phone_taken", 409, "this phone is bound to another member"


class PhoneAlreadyBound(DomainError):
    code, http_status, message = "phone_already_bound", 409, "this phone is already bound to you"


class CodeCooldown(DomainError):
    code, http_status, message = "code_cooldown", 429, "a code was sent less than a minute ago"


class NoPendingCode(DomainError):
    code, message = "no_pending_code", "no verification code is pending"


class CodeExpired(DomainError):
    code, message = "code_expired", "the verification code has expired"


class WrongCode(DomainError):
    code, message = "wrong_code", "the verification code is wrong"


class TooManyTries(DomainError):
    code, http_status, message = "too_many_tries", 429, "too many wrong codes"
