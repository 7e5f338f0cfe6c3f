"""Member identity: follow/unfollow, binding a phone number with a verification code, and resolving the member
a request names (by openid, phone, member code or member id)."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import AsyncIterator, Literal, Protocol, Sequence

from . import errors
from .care import anniversary_labels, join_label
from .clock import MALL_TZ, Clock
from .phone import mask_phone, normalise_phone
from .pii import Pii


JOIN_DAY_GROUP = "join-day-index"     # the consumer group that files new members under their join day
# The privacy notice a member reads before a phone is bound (bot/templates/privacy.html and the chat's short
# version): a new version asks every member again.
PRIVACY_NOTICE_VERSION = "2026-12"


@dataclass(frozen=True)
class Member:
    member_id: str
    openid: str
    subscribed: bool
    joined_at: datetime
    nickname: str = ""
    phone_hash: str | None = None
    status: str = ""            # subscribed | unsubscribed | imported (no WeChat follow yet) | merged | erased
    merged_into: str = ""       # a follower folded into an imported member: that member's id
    erased: bool = False        # the personal data was erased on request (loyalty_core/personal_data.py)

    @property
    def phone_bound(self) -> bool:
        return self.phone_hash is not None


@dataclass(frozen=True)
class FollowResult:
    member_id: str
    is_new: bool       # a first-ever follower: the member record was created by this follow, or an imported
                       # member followed for the first time
    restored: bool     # an unfollowed member came back


@dataclass(frozen=True)
class CodeSent:
    masked_phone: str
    valid_minutes: int


@dataclass(frozen=True)
class PhoneBound:
    masked_phone: str
    replaced: bool
    linked: bool = False    # the phone was an imported member's: the follower and that member are one now


@dataclass(frozen=True)
class VerifiedCode:
    """The phone a correct verification code was for (keyed hash and sealed number)."""
    phone_hash: str
    phone_enc: str


@dataclass(frozen=True)
class PhoneRules:
    code_validity: timedelta = timedelta(minutes=10)
    code_cooldown: timedelta = timedelta(minutes=1)     # per member
    max_tries: int = 5
    number_cooldown: timedelta = timedelta(minutes=1)   # per phone number, whichever member asks
    number_daily_codes: int = 10                        # per phone number and day (the mall's timezone)


class SmsSender(Protocol):
    async def send_code(self, phone: str, code: str, *, valid_minutes: int) -> None:
        """Deliver a verification code; raises on failure."""


class MemberStore(Protocol):
    async def member_id_for_openid(self, openid: str) -> str | None: ...
    async def member_id_for_phone(self, phone_hash: str) -> str | None: ...
    async def get(self, member_id: str) -> Member | None: ...
    async def nicknames_many(self, member_ids: list[str]) -> list[str | None]: ...
    async def phone_enc(self, member_id: str) -> str | None: ...
    async def phone_claims(self, member_id: str) -> tuple[str | None, str | None]: ...
    async def follow(self, openid: str, now: datetime, op_key: str, via: str) -> FollowResult: ...
    async def unfollow(self, member_id: str, now: datetime, op_key: str) -> bool: ...
    def following(self) -> AsyncIterator[str]:
        """Every member who follows the account (a scan of all members: for greetings to everyone)."""
    async def file_join_day(self, member_id: str, label: str) -> None:
        """File the member under the day of the year they joined (idempotent)."""
    async def members_joined_on(self, label: str) -> list[str]: ...
    async def count_sms_to_number(self, phone_hash: str, now: datetime, day: str, rules: PhoneRules) -> None:
        """Count a code to the number; raises CodeCooldown or PhoneDailyLimit (and counts nothing)."""
    async def start_phone_challenge(self, member_id: str, phone_enc: str, phone_hash: str, code_hash: str,
                                    now: datetime, rules: PhoneRules) -> None:
        """Raises CodeCooldown when the member asked for a code less than the cooldown ago."""
    async def check_phone_code(self, member_id: str, code_hash: str, now: datetime,
                               rules: PhoneRules) -> VerifiedCode:
        """Raises NoPendingCode, CodeExpired, WrongCode (with tries_left) or TooManyTries."""
    async def cancel_phone_challenge(self, member_id: str) -> None: ...
    async def claim_phone(self, member_id: str, phone_hash: str) -> str: ...
    async def bind_phone(self, member_id: str, phone_hash: str, phone_enc: str, now: datetime) -> str: ...
    async def release_phone(self, member_id: str, phone_hash: str) -> None: ...
    async def note_privacy(self, member_id: str, step: str, version: str, now: datetime) -> dict:
        """step "shown" (the member was shown the notice) or "consent" (agreed to it), or "read" (neither,
        answers only); returns {"shown", "consented", "consented_at"}, the versions as recorded."""


class Folds(Protocol):
    """Folding a follower into the imported member holding their phone (loyalty_core/member_fold.py)."""
    async def foldable(self, member_id: str, follower_id: str) -> bool: ...
    async def fold(self, follower_id: str, member_id: str) -> None: ...


class MemberService:
    def __init__(self, store: MemberStore, pii: Pii, sms: SmsSender, clock: Clock,
                 rules: PhoneRules = PhoneRules(), folds: Folds | None = None):
        self._store = store
        self._pii = pii
        self._sms = sms
        self._clock = clock
        self.rules = rules
        self._folds = folds

    async def follow(self, openid: str, delivery_key: str, *, via: str = "follow") -> FollowResult:
        now = self._clock.now()
        result = await self._store.follow(openid, now, op_key=f"follow:{delivery_key}", via=via)
        if result.is_new:       # (a retry of the callback files again; a crash before it: on_member_joined)
            await self._store.file_join_day(result.member_id, join_label(now.astimezone(MALL_TZ).date()))
        return result

    def following(self) -> AsyncIterator[str]:
        return self._store.following()

    async def on_member_joined(self, event: dict) -> None:
        """member_joined from the outbox stream: the member is filed under their join day (for anniversaries)."""
        joined = datetime.fromisoformat(event["occurred_at"]).astimezone(MALL_TZ).date()
        await self._store.file_join_day(event["member_id"], join_label(joined))

    async def anniversaries_on(self, day: date) -> list[tuple[str, int]]:
        """(member_id, years) of the members who follow and joined on this day of the year, a year or more ago."""
        found = []
        for label in anniversary_labels(day):
            for member_id in await self._store.members_joined_on(label):
                member = await self._store.get(member_id)
                years = day.year - member.joined_at.astimezone(MALL_TZ).year if member else 0
                if member is not None and member.subscribed and years >= 1:
                    found.append((member_id, years))
        return found

    async def unfollow(self, openid: str, delivery_key: str) -> bool:
        member_id = await self._store.member_id_for_openid(openid)
        if member_id is None:
            return False
        return await self._store.unfollow(member_id, self._clock.now(), op_key=f"unfollow:{delivery_key}")

    async def member_id_for_openid(self, openid: str) -> str | None:
        return await self._store.member_id_for_openid(openid)

    async def get(self, member_id: str) -> Member:
        """The member; a follower folded into an imported member is that member."""
        member = await self._store.get(member_id)
        if member is not None and member.merged_into:
            member = await self._store.get(member.merged_into)
        if member is None:
            raise errors.UnknownMember()
        return member

    async def nicknames_many(self, member_ids: list[str]) -> list[str | None]:
        """Each member's nickname ("" for none), read together; None for an id that names no member."""
        return await self._store.nicknames_many(member_ids)

    async def member_id_for_phone(self, raw_phone: str) -> str | None:
        phone = normalise_phone(raw_phone)
        owner, _ = await self._phone_holder(self.phone_hash(phone))
        return owner

    async def phone_of(self, member_id: str) -> str | None:
        """The member's phone in clear text, for showing it to that member only."""
        sealed = await self._store.phone_enc(member_id)
        return None if sealed is None else self._pii.decrypt(sealed, context="phone")

    def phone_hash(self, phone: str) -> str:
        return self._pii.lookup_hash(phone, context="phone")

    async def privacy_notice_shown(self, member_id: str) -> None:
        """The member was shown the privacy notice (the welcome and the binding help carry its short form)."""
        await self._store.note_privacy(member_id, "shown", PRIVACY_NOTICE_VERSION, self._clock.now())

    async def consent_to_privacy(self, member_id: str) -> bool:
        """The member agreed to the privacy notice (同意); False when they already had."""
        before = await self._store.note_privacy(member_id, "read", PRIVACY_NOTICE_VERSION, self._clock.now())
        await self._store.note_privacy(member_id, "consent", PRIVACY_NOTICE_VERSION, self._clock.now())
        return before["consented"] != PRIVACY_NOTICE_VERSION

    async def request_binding(self, member_id: str, raw_phone: str) -> CodeSent:
        """The member asks in chat to bind a phone. Asking after having been shown the privacy notice is consent
        to it (the notice says so), recorded once the code is on its way; a member never shown the current notice
        gets it first (PrivacyConsentNeeded), and nothing else happens."""
        normalise_phone(raw_phone)
        now = self._clock.now()
        state = await self._store.note_privacy(member_id, "read", PRIVACY_NOTICE_VERSION, now)
        consented = state["consented"] == PRIVACY_NOTICE_VERSION
        if not consented and state["shown"] != PRIVACY_NOTICE_VERSION:
            await self.privacy_notice_shown(member_id)
            raise errors.PrivacyConsentNeeded(version=PRIVACY_NOTICE_VERSION)
        sent = await self.request_phone_code(member_id, raw_phone)
        if not consented:
            await self._store.note_privacy(member_id, "consent", PRIVACY_NOTICE_VERSION, now)
        return sent

    async def request_phone_code(self, member_id: str, raw_phone: str) -> CodeSent:
        phone = normalise_phone(raw_phone)
        phone_hash = self.phone_hash(phone)
        owner, bound = await self._phone_holder(phone_hash)
        if owner == member_id and bound:
            raise errors.PhoneAlreadyBound()
        # (ours but unbound: a binding cut short, finished by this code; an unclaimed imported member's: a fold)
        if owner not in (None, member_id) and not await self._may_fold(owner, member_id):
            raise errors.PhoneTaken()
        now = self._clock.now()
        await self._count_sms_to_number(phone_hash, now)
        code = f"{secrets.randbelow(1_000_000):06d}"
        await self._store.start_phone_challenge(member_id, self._pii.encrypt(phone, context="phone"), phone_hash,
                                                self._code_hash(member_id, code), now, self.rules)
        minutes = int(self.rules.code_validity.total_seconds() // 60)
        try:
            await self._sms.send_code(phone, code, valid_minutes=minutes)
        except Exception:
            await self._store.cancel_phone_challenge(member_id)
            raise
        return CodeSent(masked_phone=mask_phone(phone), valid_minutes=minutes)

    async def verify_phone(self, member_id: str, code: str) -> PhoneBound:
        checked = await self._store.check_phone_code(
            member_id, self._code_hash(member_id, code.strip()), self._clock.now(), self.rules)
        phone_hash, phone_enc = checked.phone_hash, checked.phone_enc
        owner = await self._store.claim_phone(member_id, phone_hash)
        if owner != member_id and await self._may_fold(owner, member_id):
            try:
                await self._folds.fold(member_id, owner)
            except errors.PhoneTaken:          # another follower folded in first
                await self._store.cancel_phone_challenge(member_id)
                raise
            return PhoneBound(masked_phone=mask_phone(self._pii.decrypt(phone_enc, context="phone")), replaced=False,
                              linked=True)
        if owner != member_id:
            await self._store.cancel_phone_challenge(member_id)
            raise errors.PhoneTaken()
        previous = await self._store.bind_phone(member_id, phone_hash, phone_enc, self._clock.now())
        if previous and previous != phone_hash:
            await self._store.release_phone(member_id, previous)
        phone = self._pii.decrypt(phone_enc, context="phone")
        return PhoneBound(masked_phone=mask_phone(phone), replaced=bool(previous) and previous != phone_hash)

    async def _may_fold(self, owner: str, follower_id: str) -> bool:
        """The phone's holder is an imported member no follower has claimed, and the follower has no phone."""
        if self._folds is None or not await self._folds.foldable(owner, follower_id):
            return False
        bound, _ = await self._store.phone_claims(follower_id)
        return bound is None

    async def _count_sms_to_number(self, phone_hash: str, now: datetime) -> None:
        """The number's own limits, so that many openids cannot flood one phone: a separate step in the
        number's slot, before the member's challenge. A request that the member's own cooldown then
        refuses, or whose SMS fails, still counts against the number (at worst a minute's wait and one of
        the day's codes); one refused here starts no challenge and sends nothing."""
        day = now.astimezone(MALL_TZ).strftime("%Y%m%d")
        await self._store.count_sms_to_number(phone_hash, now, day, self.rules)

    async def _phone_holder(self, phone_hash: str) -> tuple[str | None, bool]:
        """Who holds the phone, and whether it is bound in their profile. The index (its own slot) and the
        profile change in separate steps: an entry whose member has neither the phone bound nor a verified
        code for it is what a crash between them left (a number changed but the old one not released, or a
        claim whose binding never finished), and is released here rather than block the number for good."""
        owner = await self._store.member_id_for_phone(phone_hash)
        if owner is None:
            return None, False
        bound, verified = await self._store.phone_claims(owner)
        if phone_hash in (bound, verified):
            return owner, bound == phone_hash
        await self._store.release_phone(owner, phone_hash)
        return None, False

    def _code_hash(self, member_id: str, code: str) -> str:
        key = self._pii.lookup_hash(member_id, context="phone-code-salt").encode()
        return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


# --- which member a request names ----------------------------------------------------------------
MemberKind = Literal["openid", "phone", "member_code", "member_id"]
MEMBER_KINDS: tuple[MemberKind, ...] = ("openid", "phone", "member_code", "member_id")
_MEMBER_ID = re.compile(r"[0-9]{1,20}")   # member numbers (RedisMemberStore); nothing else becomes a member key


@dataclass(frozen=True)
class MemberRef:
    kind: MemberKind
    value: str


def exactly_one_of(accepts: Sequence[MemberKind], key: str = "member") -> errors.InvalidRequest:
    return errors.InvalidRequest(f"{key} must name exactly one of {', '.join(accepts)}")


class MemberDirectory(Protocol):
    async def member_id_for_openid(self, openid: str) -> str | None: ...
    async def member_id_for_phone(self, raw_phone: str) -> str | None: ...
    async def get(self, member_id: str) -> Member: ...


class MemberCodes(Protocol):
    async def use(self, code: str, txn_id: str) -> str: ...
    async def peek(self, code: str) -> str: ...


class MemberResolver:
    """The one answer to "which member is this?" for every endpoint, each saying which kinds it accepts.
    A member code is consumed by the purchase that presents it (a retry of that purchase may present it
    again), so it names a member only together with a txn_id.

    Errors: InvalidRequest (a kind the endpoint does not accept), InvalidPhone (not a mainland mobile
    number), InvalidMemberCode (unknown, used or expired), UnknownMember (no member by that openid,
    phone or member id)."""

    def __init__(self, directory: MemberDirectory, codes: MemberCodes):
        self._directory = directory
        self._codes = codes

    async def resolve(self, ref: MemberRef, accepts: Sequence[MemberKind], *, txn_id: str | None = None) -> str:
        if ref.kind not in accepts:
            raise exactly_one_of(accepts)
        if ref.kind == "member_code":
            if txn_id is None:
                raise errors.InvalidRequest("a member code names the member of one purchase only")
            return await self._codes.use(ref.value, txn_id)
        return await self._named(ref)

    async def peek(self, ref: MemberRef, accepts: Sequence[MemberKind]) -> str:
        """As `resolve`, for a look that books nothing: a member code names its member without being used up."""
        if ref.kind not in accepts:
            raise exactly_one_of(accepts)
        if ref.kind == "member_code":
            return await self._codes.peek(ref.value)
        return await self._named(ref)

    async def _named(self, ref: MemberRef) -> str:
        if ref.kind == "member_id":
            if not _MEMBER_ID.fullmatch(ref.value):
                raise errors.UnknownMember()
            return (await self._directory.get(ref.value)).member_id
        if ref.kind == "openid":
            member_id = await self._directory.member_id_for_openid(ref.value)
        else:
            member_id = await self._directory.member_id_for_phone(ref.value)
        if member_id is None:
            raise errors.UnknownMember()
        return member_id
