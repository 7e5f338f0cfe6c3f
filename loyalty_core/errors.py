"""Domain errors: a stable code (used for chat templates and API bodies), a safe message, an HTTP status.

Messages must never contain personal data: they end up in logs and API answers.

Every error class registers its code, and `from_code` is the one way from a code — a Lua script's refusal,
the reason a reservation was released — to the error to raise.
"""
from __future__ import annotations

_BY_CODE: dict[str, type["DomainError"]] = {}
# The reasons a coupon does not apply (loyalty_core/coupon_rules.py and the coupon scripts): each is the code of
# a CouponNotApplicable.
COUPON_REASONS = frozenset({"expired", "revoked", "not_yet_valid", "wrong_store", "wrong_category", "below_threshold",
                            "no_eligible_items", "gift_not_in_basket", "items_required", "not_member_day"})


class DomainError(Exception):
    code = "domain_error"
    http_status = 422
    message = "the request cannot be carried out"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is not None:
            if code in _BY_CODE:
                raise TypeError(f"error code {code!r} used by {_BY_CODE[code].__name__} and {cls.__name__}")
            _BY_CODE[code] = cls

    def __init__(self, message: str | None = None, **params):
        self.params = params
        super().__init__(message or self.message)

    @property
    def text(self) -> str:
        return str(self)


class UnexpectedRefusal(RuntimeError):
    """A script refused with a code that no domain error has: a bug, not bad input."""


def from_code(code: str, **params) -> Exception:
    """The error for a refusal's code, carrying the refusal's details as its params (to raise)."""
    error_class = _BY_CODE.get(code)
    if error_class is not None:
        return error_class(**params)
    if code in COUPON_REASONS:
        return CouponNotApplicable(code, **params)
    return UnexpectedRefusal(f"refused with unknown code {code!r}")


class UnknownMember(DomainError):
    code, http_status, message = "unknown_member", 404, "no such member"


class NotAMember(DomainError):
    """The WeChat user has no member record yet (e.g. never followed)."""
    code, http_status, message = "not_a_member", 404, "follow the account first"


class MemberErased(DomainError):
    """The member's personal data was erased on request: the record keeps the books and nothing else."""
    code, http_status, message = "member_erased", 404, "this member's data was erased"


class PrivacyConsentNeeded(DomainError):
    """A phone is bound only after the member has read the privacy notice and agreed to it."""
    code, http_status, message = "privacy_consent_needed", 409, "the member has not agreed to the privacy notice"


class InvalidPhone(DomainError):
    code, message = "invalid_phone", "not a mainland China mobile number"


class PhoneTaken(DomainError):
    code, http_status, message = "phone_taken", 409, "this phone is bound to another member"


class PhoneAlreadyBound(DomainError):
    code, http_status, message = "phone_already_bound", 409, "this phone is already bound to you"


class CodeCooldown(DomainError):
    code, http_status, message = "code_cooldown", 429, "a code was sent less than a minute ago"

    def __init__(self, message: str | None = None, *, retry_in_ms: int = 0, **params):
        super().__init__(message, seconds=max(1, -(-retry_in_ms // 1000)), **params)


class PhoneDailyLimit(DomainError):
    code, http_status, message = "phone_daily_limit", 429, "this number has had the most codes allowed today"


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
    code, http_status, message = "insufficient_points", 422, "not enough points"

    def __init__(self, message: str | None = None, **params):
        available = params.get("available")
        super().__init__(message or (f"not enough points: {available} available" if available is not None else None),
                         **params)


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


class OtherStore(DomainError):
    """A till key bound to a store was used for another store's purchase, refund or coupon."""
    code, http_status, message = "forbidden", 403, "this key books for its own store only"


class InvalidMemberCode(DomainError):
    code, http_status, message = "invalid_member_code", 404, "the member code is unknown, used or expired"


# --- coupons, catalogue, redemption, pending choices -------------------------------------------------
class BadCodeFormat(DomainError):
    code, message = "bad_code_format", "check the code: a coupon code has 13 characters of 2-9 and A-Z without I and O"


class BadCodeChecksum(DomainError):
    code, message = "bad_code_checksum", "check the code: it has a typo (its check character does not match)"


class UnknownCoupon(DomainError):
    code, http_status, message = "unknown_coupon", 404, "no such coupon"


class CouponNotApplicable(DomainError):
    """The coupon cannot be used for this basket; `code` is the reason (one of COUPON_REASONS)."""
    http_status, message = 422, "the coupon does not apply"

    def __init__(self, reason: str, **params):
        super().__init__(f"the coupon does not apply: {reason}", reason=reason, **params)
        self.code = reason


class CouponAlreadyUsed(DomainError):
    code, http_status, message = "already_used", 409, "the coupon was already used in another transaction"


class UnknownCouponTemplate(DomainError):
    code, http_status, message = "unknown_coupon_template", 404, "no such coupon template"


class DefinitionExists(DomainError):
    code, http_status, message = "already_exists", 409, "a definition with this id exists already"


class InvalidDefinition(DomainError):
    code, message = "invalid_definition", "the definition is not valid"


class CouponIssueLimit(DomainError):
    code, http_status, message = "issue_limit_reached", 409, "all coupons of this kind have been issued"


class CouponMemberLimit(DomainError):
    code, http_status, message = "coupon_limit_reached", 409, "the member holds the most coupons of this kind allowed"


class CouponNotIssuable(DomainError):
    code, message = "template_closed", "the coupon's validity period is over"


class TierTooLow(DomainError):
    code, http_status, message = "tier_too_low", 403, "reserved for a higher tier"


class UnknownItem(DomainError):
    code, http_status, message = "unknown_item", 404, "no such catalogue item"


class NoSuchListing(DomainError):
    code, http_status, message = "no_such_listing", 404, "no item with that number in the list"


class NotOnSale(DomainError):
    code, message = "not_on_sale", "the item is not on offer at this time"


class NotMemberDay(DomainError):
    """Only on the member day (a member-day-only item, the lottery); `next_day` names the next one (12月18日)."""
    code, message = "not_member_day", "only on the member day"

    def __init__(self, **params):
        upcoming = params.get("next_on")
        super().__init__(f"only on the member day (the next is {upcoming})" if upcoming else None, **params)


class LotteryClosed(NotMemberDay):
    """The member-day lottery is drawn on the member day only."""
    code = "lottery_closed"


class SoldOut(DomainError):
    code, http_status, message = "sold_out", 409, "the item is sold out"


class ItemLimitReached(DomainError):
    code, http_status, message = "item_limit_reached", 409, "the member redeemed this item the most times allowed"


class PriceChanged(DomainError):
    """The item's points price is no longer the one offered; `points`: the price now."""
    code, http_status, message = "price_changed", 409, "the item's points price changed since it was offered"


class RedemptionLapsed(DomainError):
    code, http_status, message = "redemption_lapsed", 409, "the redemption was not completed in time"


class NothingToConfirm(DomainError):
    code, http_status, message = "nothing_to_confirm", 404, "nothing is waiting for a confirmation"


class ChoiceLapsed(DomainError):
    code, http_status, message = "choice_lapsed", 409, "the offer lapsed before it was confirmed"


class ChoiceConfirmed(DomainError):
    """取消 came after 确认 claimed the choice; `done`: carried out already (else still under way)."""
    code, http_status, message = "choice_confirmed", 409, "the choice was confirmed and cannot be cancelled"


# --- birthday, referrals -----------------------------------------------------------------------------
class InvalidBirthday(DomainError):
    """`reason`: format, no_such_date, no_leap_month, too_early, future."""
    code, message = "invalid_birthday", "not a valid birthday"


class BirthdayAlreadySet(DomainError):
    code, http_status, message = "birthday_already_set", 409, "the birthday is set; staff can change it"


class NoBirthday(DomainError):
    code, http_status, message = "no_birthday", 404, "no birthday is set"


class NotInBirthdayWindow(DomainError):
    """`opens_on`: the first day of the next birthday window."""
    code, http_status, message = "not_in_birthday_window", 409, "outside the birthday window"


class NoBirthdayGift(DomainError):
    code, http_status, message = "no_birthday_gift", 404, "the member's tier has no birthday gift"


class BirthdayChangeConflict(DomainError):
    code, http_status, message = "birthday_change_conflict", 409, "this request_id was already used for another change"


# --- API keys --------------------------------------------------------------------------------------------
class UnknownAccessKey(DomainError):
    code, http_status, message = "unknown_key", 404, "no such API key"


# --- pushes ------------------------------------------------------------------------------------------
class InvalidPush(DomainError):
    """A push that cannot be planned as given (a missing field, a template field too long, …)."""
    code, message = "invalid_push", "the push is not well-formed"


# --- the till: points as payment, walk-in sales, the service desk ----------------------------------------
class InvalidPoints(DomainError):
    code, message = "invalid_points", "points must be a whole number of points the programme accepts as payment"


class PointsShareExceeded(DomainError):
    code, message = "points_share_exceeded", "points may pay only part of the basket"


class PointsPaymentOff(DomainError):
    code, message = "points_payment_off", "points do not pay at the till in this programme"


class PaymentConflict(DomainError):
    code, http_status, message = "payment_conflict", 409, "this redemption_id was already used for another payment"


class UnknownRedemption(DomainError):
    code, http_status, message = "unknown_redemption", 404, "no points payment with this redemption_id"


class WalkInSale(DomainError):
    code, message = "walk_in_sale", "a walk-in sale earned no points: there are none to take back"


class NotAWalkIn(DomainError):
    code, http_status, message = "not_walk_in", 409, "this transaction was a member's purchase, not a walk-in sale"


class JoinExpired(DomainError):
    code, message = "join_expired", "the receipt's join code is older than the programme allows"


class AlreadyJoined(DomainError):
    code, http_status, message = "already_joined", 409, "this receipt's points were already credited to a member"


class UnknownVoucher(DomainError):
    code, http_status, message = "unknown_voucher", 404, "no such gift voucher"


class NotAVoucher(DomainError):
    code, message = "not_a_voucher", "this code is a coupon for the till, not a gift voucher for the desk"


class VoucherCollected(CouponAlreadyUsed):
    message = "the gift voucher was already collected"

    def __init__(self, collected_at: str | None = None, **params):
        super().__init__(f"the gift voucher was already collected (at {collected_at})" if collected_at else None,
                         collected_at=collected_at, **params)


class MemberDayCoupon(CouponNotApplicable):
    """A member-day-only coupon outside the member day; `next_on` is the next member day (ISO date)."""
    def __init__(self, **params):
        super().__init__("not_member_day", **params)
        upcoming = params.get("next_on")
        self.args = (f"the coupon is for the member day only: the next is {upcoming}" if upcoming
                     else "the coupon is for the member day only, and there is no member day",)


class VoucherExpired(CouponNotApplicable):
    def __init__(self, **params):
        super().__init__("expired", **params)
        self.args = ("the gift voucher is past its last day",)


class JoinCodeUnavailable(DomainError):
    code, http_status, message = "join_code_unavailable", 503, "WeChat cannot make the join code just now: try again"


# --- communities and events ---------------------------------------------------------------------------
class UnknownCommunity(DomainError):
    code, http_status, message = "unknown_community", 404, "no such community"


class UnknownBroadcast(DomainError):
    code, http_status, message = "unknown_broadcast", 404, "no such broadcast"


class CommunityConflict(DomainError):
    code, http_status, message = "community_conflict", 409, "another community has this id or name"


class CommunityLimit(DomainError):
    code, http_status, message = "community_limit", 409, "the account has the most communities WeChat allows"


class MemberCommunityLimit(DomainError):
    code, http_status, message = "member_community_limit", 409, "the member is in the most communities allowed"


class NotInCommunity(DomainError):
    code, http_status, message = "not_in_community", 409, "the member is not in this community"


class NotAManager(DomainError):
    code, http_status, message = "not_a_manager", 403, "only the community's managers may do this"


class WeChatUnavailable(DomainError):
    """The WeChat API did not carry out a call the change needs (nothing was recorded: send it again)."""
    code, http_status, message = "wechat_unavailable", 503, "WeChat did not answer: try again in a moment"


class UnknownEvent(DomainError):
    code, http_status, message = "unknown_event", 404, "no such event"


class EventConflict(DomainError):
    code, http_status, message = "event_conflict", 409, "an event with this id exists with another definition"


class SignupClosed(DomainError):
    code, http_status, message = "signup_closed", 409, "sign-up for this event has closed"


class SignupNotOpen(DomainError):
    code, http_status, message = "signup_not_open", 409, "sign-up for this event is not open to the member yet"


class EventNotForMember(DomainError):
    code, http_status, message = "event_not_for_member", 403, "the event is for another audience"


class NotSignedUp(DomainError):
    code, http_status, message = "not_signed_up", 409, "the member has no place at this event"


class EventStarted(DomainError):
    code, http_status, message = "event_started", 409, "the event has started"


class NoFeedbackDue(DomainError):
    code, http_status, message = "no_feedback_due", 409, "no event awaits the member's feedback"


class BroadcastLimit(DomainError):
    code, http_status, message = "broadcast_limit", 429, "the manager's broadcasts for today are used up"


class EmptyBroadcast(DomainError):
    code, message = "empty_broadcast", "a broadcast needs a text"


class BroadcastTooLong(DomainError):
    code, message = "broadcast_too_long", "the broadcast's text is too long"


class EmptySuggestion(DomainError):
    code, message = "empty_suggestion", "a suggestion needs a text"


# --- segments and campaigns --------------------------------------------------------------------------------
class InvalidSegment(DomainError):
    code, message = "invalid_segment", "the segment is not valid"


class InvalidCampaign(DomainError):
    code, message = "invalid_campaign", "the campaign cannot work"


class CampaignConflict(DomainError):
    code, http_status, message = "campaign_conflict", 409, "this campaign_id was already used for another campaign"


class UnknownCampaign(DomainError):
    code, http_status, message = "unknown_campaign", 404, "no such campaign"


class CampaignClosed(DomainError):
    code, http_status, message = "campaign_closed", 409, "the campaign has finished or was cancelled"


# --- the operator console ------------------------------------------------------------------------------------
class InvalidConsoleUser(DomainError):
    code, message = "invalid_console_user", "the console user is not valid"


class WeakPassword(DomainError):
    code, message = "weak_password", "the password is too weak"


class ConsoleUserExists(DomainError):
    code, http_status, message = "console_user_exists", 409, "a console user with this email exists"


class UnknownConsoleUser(DomainError):
    code, http_status, message = "unknown_console_user", 404, "no such console user"


class LoginFailed(DomainError):
    code, http_status, message = "login_failed", 401, "the email or the password is wrong, or the user is disabled"


class ReasonRequired(DomainError):
    code, message = "reason_required", "a staff action needs a reason"


class UnknownPush(DomainError):
    code, http_status, message = "unknown_push", 404, "no such message to this member"


class LoginThrottled(DomainError):
    code, http_status, message = "login_throttled", 429, "too many failed logins: try again in 15 minutes"
