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


# --- points ledger, tiers, till -----------------------------------------------------------------
class InsufficientPoints(DomainError):
    code, http_status, message = "insufficient_points", 409, "not enough points"


class InvalidRequest(DomainError):
    """A till request that is not well-formed: bad JSON, a missing or mistyped field."""
    code, message = "invalid_request", "the request is not well-formed"


class InvalidAmount(DomainError):
    code, message = "invalid_amount", "the amount must be a positive CNY amount with at most 2 decimals"


class InvalidTime(DomainError):
    code, message = "invalid_time", "occurred_at is not an acceptable time"


class UnknownTransaction(DomainError):
    code, http_status, message = "unknown_txn", 404, "no such purchase transaction"


class TransactionConflict(DomainError):
    code, http_status, message = "txn_conflict", 409, "this txn_id was already used for a different purchase"


class RefundConflict(DomainError):
    code, http_status, message = "refund_conflict", 409, "this refund_id was already used for a different refund"


class RefundExceedsPurchase(DomainError):
    code, http_status, message = "refund_exceeds_purchase", 409, "refunds would exceed the purchase amount"


class InvalidMemberCode(DomainError):
    code, http_status, message = "invalid_member_code", 404, "the member code is unknown, used or expired"
