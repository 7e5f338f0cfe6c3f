"""A member's personal data: everything the program holds about one member, as one document (export), and
its erasure on request (the member anonymised, the books kept).

What counts as personal and where it lives is written once, here: the profile's personal fields, and each of
the member's own keys (loyalty_core/keys.py) with what erasure does with it. Export and erase both read these
tables; a key of a member that is in neither table fails tests/unit/test_personal_data.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Literal, Protocol

from . import errors, keys
from .clock import Clock
from .console import checked_reason
from .pii import Pii

# -- the profile's personal fields ---------------------------------------------------------------------
SEALED_PROFILE_FIELDS = {"phone_enc": "phone", "name_enc": "name", "email_enc": "email"}   # field -> PII context
CLEAR_PROFILE_FIELDS = ("openid", "nickname", "gender", "member_no", "phone_hash", "phone_bound_at")
PERSONAL_PROFILE_FIELDS = (*SEALED_PROFILE_FIELDS, *CLEAR_PROFILE_FIELDS)

Erasure = Literal["keep", "delete"]


@dataclass(frozen=True)
class MemberKey:
    """One of the member's own keys: its section in the export, and what erasure does with it."""
    section: str
    key: Callable[[str], str]
    erase: Erasure
    why: str


MEMBER_KEYS: tuple[MemberKey, ...] = (
    MemberKey("points", keys.points_account, "keep", "the ledger's totals: balance, debt, spend, for the books"),
    MemberKey("points_lots", keys.points_lot_data, "keep", "the ledger: what each lot earned and has left"),
    MemberKey("points_lots_expiry", keys.points_lots, "keep", "the ledger: the lots' expiry"),
    MemberKey("points_history", keys.points_history, "keep", "the ledger's entries and their amounts"),
    MemberKey("ledger_operations", keys.points_ops, "keep", "a retried payment or grant must find its answer"),
    MemberKey("purchases", keys.member_purchases, "keep", "purchases and refunds, for the books"),
    MemberKey("spend_days", keys.spend_days, "keep", "the spend the tier is reviewed on"),
    MemberKey("coupons", keys.member_coupons, "keep", "coupons issued and used at the tills"),
    MemberKey("coupon_counts", keys.member_coupon_counts, "keep", "the per-member limits of coupon templates"),
    MemberKey("coupon_operations", keys.member_coupon_ops, "keep", "a retried issue must find its coupon"),
    MemberKey("redemptions", keys.member_redemptions, "keep", "rewards redeemed for points"),
    MemberKey("redeem_list", keys.member_redeem_list, "delete", "the catalogue page last shown in chat"),
    MemberKey("pending_choice", keys.member_pending_choice, "delete", "a question awaiting 确认 (may hold a date)"),
    MemberKey("birthday", keys.member_birthday, "delete", "the sealed birthday and its index label"),
    MemberKey("birthday_audit", keys.member_birthday_audit, "delete", "the sealed dates of past changes"),
    MemberKey("referee", keys.member_referee, "keep", "who referred the member: the referrer's reward"),
    MemberKey("referrer", keys.member_referrer, "keep", "the rewards the member earned as a referrer"),
    MemberKey("referees", keys.member_referees, "keep", "the friends the member referred (member ids)"),
    MemberKey("referral_rejections", keys.member_referral_rejections, "keep", "refused referrals (member ids)"),
    MemberKey("referral_qr", keys.member_referral_qr, "delete", "the member's referral QR code"),
    MemberKey("communities", keys.member_communities, "delete", "the communities the member belongs to"),
    MemberKey("facts", keys.member_facts, "keep", "segmentation facts (totals; the birthday month is cleared)"),
    MemberKey("events", keys.member_events, "keep", "the events signed up for (places are counted)"),
    MemberKey("broadcast_log", keys.member_broadcast_log, "keep", "a manager's broadcasts (their audit)"),
    MemberKey("survey", keys.member_survey, "delete", "the satisfaction question open to the member"),
    MemberKey("campaigns", keys.member_campaigns, "keep", "campaign assignments: the results' books"),
    MemberKey("subscribe_consents", keys.member_consents, "delete", "subscribe-message consents"),
    MemberKey("pushes", keys.member_pushes, "delete", "messages planned for the member, with their texts"),
    MemberKey("push_inbox", keys.member_push_inbox, "delete", "pushes waiting for the member to write"),
    MemberKey("push_dedup", keys.member_push_dedup, "delete", "the topics already sent"),
    MemberKey("push_facts", keys.member_push_facts, "delete", "the customer-service window"),
    MemberKey("push_caps", keys.member_push_caps, "delete", "the marketing frequency caps"),
    MemberKey("push_done", keys.member_push_done, "delete", "pushes that ended"),
    MemberKey("deliveries", keys.member_deliveries, "delete", "the delivery log of the messages sent"),
    MemberKey("phone_challenge", keys.phone_challenge, "delete", "a verification code under way (sealed phone)"),
    MemberKey("outbox", keys.member_outbox, "keep", "domain events not yet relayed (member ids, no personal data)"),
    MemberKey("fold", keys.member_fold, "keep", "a fold into an imported member: member ids, the points and coupons "
                                               "moved, for the books"),
)

# The member's keys not in the export, and why.
LEFT_OUT = {
    "member_tag": "not a key: the hash tag of the member's keys",
    "member_profile": "the profile: exported and erased field by field (PERSONAL_PROFILE_FIELDS)",
    "member_op": "the stored answers of chat operations (a digest of the delivery, the member id), expiring",
    "member_broadcasts": "a manager's broadcasts of one day (their ids), the day's allowance, expiring",
    "ledger_partition": "not a key: the partition of the ledger's indexes",
    "coupon_expiry_partition": "not a key: the partition of the coupon expiry index",
    "segment_bucket": "not a key: the bucket of the segment indexes",
}


@dataclass(frozen=True)
class Erased:
    member_id: str
    erased_at: datetime
    reason: str
    already: bool                   # erased before: this run only finished what was left
    copies_removed: dict[str, int] = field(default_factory=dict)


class PersonalDataStore(Protocol):
    async def profile(self, member_id: str) -> dict[str, str]: ...
    async def sections(self, member_id: str, member_keys: tuple[MemberKey, ...]) -> dict[str, Any]: ...
    async def elsewhere(self, member_id: str, purchases: dict) -> dict[str, Any]:
        """What other keys hold of the member: event places and feedback, survey answers, suggestions."""
    async def erase_copies(self, member_id: str, profile: dict[str, str], now: datetime) -> dict[str, int]:
        """Removes what other keys copied of the member (indexes by openid, phone and birthday, mass batches,
        community managers, feedback and survey comments, suggestions); idempotent. Returns counts."""
    async def erase_member(self, member_id: str, fields: tuple[str, ...], delete: tuple[str, ...],
                           now: datetime, reason: str) -> dict:
        """One script in the member's slot: the fields and keys gone, the profile marked erased (the first
        erasure's time and reason kept)."""


class OpenidCache(Protocol):
    def forget(self, openid: str) -> None: ...


class FactsRefresher(Protocol):
    async def refresh(self, member_id: str) -> Any:
        """The member's segmentation facts worked out again (the birthday month goes with the birthday)."""


class PersonalData:
    def __init__(self, store: PersonalDataStore, pii: Pii, clock: Clock, cache: OpenidCache,
                 birthday_opener: Callable[[str], Any], facts: FactsRefresher):
        self._store = store
        self._facts = facts
        self._pii = pii
        self._clock = clock
        self._cache = cache
        self._open_birthday = birthday_opener

    async def export(self, member_id: str) -> dict[str, Any]:
        """Everything held about the member, personal fields opened: for the member's own request."""
        raw = await self._known(member_id)
        sections = await self._store.sections(member_id, MEMBER_KEYS)
        document = {"member_id": member_id, "exported_at": self._clock.now().isoformat(),
                    "profile": self._opened_profile(raw), "privacy_consent": _consent(raw)}
        document |= sections
        document["birthday"] = self._opened_birthday(sections.get("birthday") or {})
        document |= await self._store.elsewhere(member_id, sections.get("purchases") or {})
        return document

    async def erase(self, member_id: str, reason: str) -> Erased:
        reason = checked_reason(reason)
        raw = await self._known(member_id)
        now = self._clock.now()
        if raw.get("openid"):
            self._cache.forget(raw["openid"])
        copies = await self._store.erase_copies(member_id, raw, now)
        deleted = tuple(entry.key(member_id) for entry in MEMBER_KEYS if entry.erase == "delete")
        result = await self._store.erase_member(member_id, PERSONAL_PROFILE_FIELDS, deleted, now, reason)
        await self._facts.refresh(member_id)
        return Erased(member_id=member_id, erased_at=datetime.fromisoformat(result["erased_at"]),
                      reason=result["reason"], already=result["already"], copies_removed=copies)

    async def _known(self, member_id: str) -> dict[str, str]:
        raw = await self._store.profile(member_id)
        if not raw:
            raise errors.UnknownMember()
        return raw

    def _opened_profile(self, raw: dict[str, str]) -> dict[str, Any]:
        profile = {name: value for name, value in raw.items() if name not in SEALED_PROFILE_FIELDS}
        for name, context in SEALED_PROFILE_FIELDS.items():
            if raw.get(name):
                profile[name.removesuffix("_enc")] = self._opened(raw[name], context)
        return profile

    def _opened(self, sealed: str, context: str) -> str:
        try:
            return self._pii.decrypt(sealed, context=context)
        except Exception:  # noqa: BLE001 - sealed under another context or key: shown as sealed, not guessed
            return "(sealed)"

    def _opened_birthday(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        if not raw.get("enc"):
            return None
        birthday = self._open_birthday(raw["enc"])
        opened = {name: value for name, value in raw.items() if name not in ("enc", "label")}
        return opened | {"calendar": birthday.calendar, "year": birthday.year, "month": birthday.month,
                         "day": birthday.day, "leap": birthday.leap}


def _consent(raw: dict[str, str]) -> dict[str, str] | None:
    if not raw.get("privacy_consented_at"):
        return None
    return {"notice_version": raw.get("privacy_notice", ""), "consented_at": raw["privacy_consented_at"]}
