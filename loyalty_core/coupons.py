"""Coupons: templates, issuing to members, the wallet, checking and using at the till, expiry, revoking.

Issue (exactly once per issue key, across slots):
1. template with a total limit: claim one from the template's counter `{ctpl:<id>}` (idempotent by
   the issue key);
2. claim a fresh code's index `idx:coupon:<code>` -> member (SET NX; a collision draws another code)
   and pre-mark the expiry index;
3. the member's script: per-member limit, the coupon itself, the `coupon_issued` event; a replay of
   the issue key answers the first coupon's code.
When step 3 refuses or fails, steps 1-2 are compensated (the claim given back, the code released).
A coupon keeps a snapshot of its template, so editing a template never changes coupons already issued.

Use at the till: the code's check character is verified before any lookup; the rules (pure, in
coupon_rules.py) price the basket; the member's script marks the coupon used by that txn_id, once.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

import orjson

from . import coupon_codes, errors
from .catalogue import tier_reaches
from .clock import MALL_TZ, Clock, epoch_ms
from .coupon_rules import (
    ZERO, Basket, CouponState, CouponTemplate, Evaluation, evaluate, status_refusal, terms_zh, validity_at_issue,
)
from .member_day import is_member_day, next_member_day
from .points import check_ref, walk_partitions
from .program import Program


@dataclass(frozen=True)
class Coupon:
    code: str
    member_id: str
    template: CouponTemplate
    status: str                         # issued | used | expired | revoked
    issued_at: datetime
    starts_at: datetime | None
    expires_at: datetime                # exclusive
    last_day: date
    terms: str                          # 满200减30，餐饮可用，至12月31日
    source: str = ""
    used_txn: str = ""
    used_answer: dict | None = None

    @property
    def grouped(self) -> str:
        return coupon_codes.grouped(self.code)

    @property
    def state(self) -> CouponState:
        return CouponState(self.status, self.starts_at, self.expires_at)

    def valid_at(self, now: datetime) -> bool:
        return self.status == "issued" and now < self.expires_at


@dataclass(frozen=True)
class CouponCheck:
    coupon: Coupon
    evaluation: Evaluation
    priced: bool = True                 # False: no basket was given, so no discount was computed
    next_member_day: date | None = None # a member-day-only coupon outside the member day: when it can be used

    def answer(self) -> dict:
        coupon, evaluation = self.coupon, self.evaluation
        answer = {"code": coupon.code, "applies": evaluation.applies,
                  "discount": str(evaluation.discount) if self.priced else None,
                  "reason": evaluation.reason, "kind": coupon.template.kind, "title": coupon.template.title,
                  "terms": coupon.terms, "status": coupon.status, "expires_at": coupon.expires_at.isoformat(),
                  "member_id": coupon.member_id}
        if evaluation.reason == "not_member_day":
            upcoming = self.next_member_day
            answer |= {"next_member_day": upcoming.isoformat() if upcoming else None,
                       "message": f"member day only: usable on {upcoming.isoformat()}, the next member day"
                       if upcoming else "member day only, and the programme has no member day"}
        return answer


def total_claim(member_id: str, issue_key: str) -> str:
    """A coupon's claim on its template's total limit: one per member and issue key (a campaign or the birthday
    gift gives many members coupons under one issue key, and each takes one of the total)."""
    return f"{member_id}|{issue_key}"


class CouponStore(Protocol):
    async def template_def(self, template_id: str) -> dict | None: ...
    async def add_template_def(self, template_id: str, raw: dict) -> bool: ...
    async def template_defs(self) -> list[dict]: ...
    async def issued_total(self, template_id: str) -> int: ...
    async def claim_total(self, template_id: str, claim: str, limit: int) -> bool: ...
    async def release_total(self, template_id: str, claim: str) -> None: ...
    async def claim_code(self, code: str, member_id: str, expires_ms: int) -> bool: ...
    async def release_code(self, code: str, member_id: str) -> None: ...
    async def issue(self, member_id: str, coupon: dict, issue_key: str, per_member_limit: int,
                    now: datetime) -> str:
        """The code of the member's coupon for this issue key: this one, or the first one on a replay.
        Raises CouponMemberLimit."""
    async def issued_code(self, member_id: str, issue_key: str) -> str | None: ...
    async def issued_codes(self, wanted: list[tuple[str, str]]) -> list[str | None]:
        """`issued_code` of each (member_id, issue_key), read together."""
    async def claim_totals(self, template_id: str, claims: list[str], limit: int) -> list[bool]: ...
    async def claim_codes(self, claims: list[tuple[str, str, int]]) -> list[bool]:
        """`claim_code` of each (code, member_id, expires_ms), together."""
    async def issue_many(self, coupons: list[tuple[dict, str]], per_member_limit: int, now: datetime) -> list[str | None]:
        """`issue` of each (coupon, issue_key), one script per member, sent together; None where the member's
        limit refused it."""
    async def coupons_by_code(self, wanted: list[tuple[str, str]]) -> list[dict | None]:
        """`coupon` of each (member_id, code), read together."""
    async def coupon(self, member_id: str, code: str) -> dict | None: ...
    async def coupons(self, member_id: str) -> list[dict]: ...
    async def owner(self, code: str) -> str | None: ...
    async def use(self, member_id: str, code: str, txn_id: str, answer: dict, now: datetime) -> dict:
        """The answer stored with the use (this txn's first answer on a replay); raises CouponAlreadyUsed,
        UnknownCoupon, or CouponNotApplicable (expired, revoked)."""
    async def expire(self, member_id: str, code: str, now: datetime) -> bool:
        """Whether this call expired the coupon."""
    async def revoke(self, member_id: str, code: str, now: datetime) -> None:
        """Raises CouponAlreadyUsed, UnknownCoupon, or CouponNotApplicable (expired)."""
    async def expiring_between(self, start: datetime, end: datetime) -> list[tuple[str, str]]:
        """(member_id, code) of the issued coupons whose validity ends after `start` and by `end`."""
    index_partitions: int  # of the expiry index, each walked on its own
    async def due(self, until: datetime, partition: int, offset: int, limit: int) -> list[str]: ...


class TierLookup(Protocol):
    async def status(self, member_id: str, now: datetime): ...


class CouponService:
    def __init__(self, store: CouponStore, program: Program, clock: Clock, tiers: TierLookup):
        self._store = store
        self.program = program
        self._clock = clock
        self._tiers = tiers

    # -- templates -------------------------------------------------------------------------------------
    async def template(self, template_id: str) -> CouponTemplate:
        """A template of the program file, else one created through the admin API."""
        template = self.program.coupons.template(template_id)
        if template is None:
            raw = await self._store.template_def(template_id)
            template = CouponTemplate.from_dict(raw) if raw else None
        if template is None:
            raise errors.UnknownCouponTemplate()
        return template

    async def templates(self) -> list[CouponTemplate]:
        """The program file's templates, then those made through the admin API."""
        made = [CouponTemplate.from_dict(raw) for raw in await self._store.template_defs()]
        return [*self.program.coupons.templates, *sorted(made, key=lambda t: t.id)]

    async def issued_count(self, template: CouponTemplate) -> int | None:
        """Coupons of the template issued in all, where that is counted (a template with a total limit)."""
        return await self._store.issued_total(template.id) if template.total_limit else None

    async def create_template(self, template: CouponTemplate) -> CouponTemplate:
        """Store a template made through the admin API; its id must be new."""
        if template.min_tier and template.min_tier not in [t.code for t in self.program.tiers]:
            raise errors.InvalidDefinition(f"min_tier: unknown tier {template.min_tier!r}")
        if self.program.coupons.template(template.id) or not await self._store.add_template_def(
                template.id, template.to_dict()):
            raise errors.DefinitionExists()
        return template

    # -- issuing ---------------------------------------------------------------------------------------
    async def issue(self, member_id: str, template_id: str, issue_key: str, *, source: str = "") -> Coupon:
        """Give the member a coupon of the template, once per issue key (a retry gets the same coupon).
        Raises TierTooLow, CouponNotIssuable, CouponIssueLimit, CouponMemberLimit."""
        return await self.issue_template(member_id, await self.template(template_id), issue_key, source=source)

    async def issue_template(self, member_id: str, template: CouponTemplate, issue_key: str, *,
                             source: str = "") -> Coupon:
        check_ref(issue_key, "issue_key")
        prior = await self._store.issued_code(member_id, issue_key)
        if prior is not None:       # a repeat gets the first coupon, even if the rules would refuse it now
            return await self.member_coupon(member_id, prior)
        now = self._clock.now()
        if template.min_tier:
            tier = (await self._tiers.status(member_id, now)).tier.code
            if not tier_reaches(tier, template.min_tier, [t.code for t in self.program.tiers]):
                raise errors.TierTooLow()
        validity = validity_at_issue(template, now)
        if validity is None:
            raise errors.CouponNotIssuable()
        counted = template.total_limit > 0
        if counted and not await self._store.claim_total(template.id, total_claim(member_id, issue_key),
                                                         template.total_limit):
            raise errors.CouponIssueLimit()
        try:
            return await self._issue_to_member(member_id, template, issue_key, source, now, validity)
        except errors.CouponMemberLimit:
            # Given back on a definite refusal only: after a failure of unknown outcome the claim stays
            # (at worst one coupon of the total goes unissued, never one too many).
            if counted:
                await self._store.release_total(template.id, total_claim(member_id, issue_key))
            raise

    async def _issue_to_member(self, member_id, template, issue_key, source, now, validity) -> Coupon:
        code = await self._claim_new_code(member_id, epoch_ms(validity.expires_at))
        coupon = {"code": code, "member_id": member_id, "template": template.issued_form(), "status": "issued",
                  "issued_at": now.isoformat(), "expires_at": validity.expires_at.isoformat(),
                  "expires_ms": epoch_ms(validity.expires_at), "last_day": validity.last_day.isoformat(),
                  "starts_at": validity.starts_at.isoformat() if validity.starts_at else None, "source": source}
        try:
            issued = await self._store.issue(member_id, coupon, issue_key, template.per_member_limit, now)
        except errors.CouponMemberLimit:
            await self._store.release_code(code, member_id)
            raise
        if issued != code:                  # a replay: this attempt's fresh code is not needed
            await self._store.release_code(code, member_id)
        return await self.member_coupon(member_id, issued)

    async def issue_many(self, template: CouponTemplate, wanted: list[tuple[str, str]], *,
                         source: str = "") -> list[Coupon | errors.DomainError]:
        """`issue_template` for a batch of (member_id, issue_key) of different members, each step taken for the
        whole batch at once: each member's coupon, or the refusal `issue_template` would raise."""
        for _, issue_key in wanted:
            check_ref(issue_key, "issue_key")
        answers: dict[int, Coupon | errors.DomainError | str] = {}
        for i, prior in enumerate(await self._store.issued_codes(wanted)):
            if prior is not None:
                answers[i] = prior
        now = self._clock.now()
        fresh = [i for i in range(len(wanted)) if i not in answers]
        if template.min_tier:
            fresh = await self._reaching(template, wanted, fresh, answers, now)
        validity = validity_at_issue(template, now)
        if validity is None:
            answers.update((i, errors.CouponNotIssuable()) for i in fresh)
            fresh = []
        counted = template.total_limit > 0
        if counted and fresh:
            claimed = await self._store.claim_totals(template.id, [total_claim(*wanted[i]) for i in fresh],
                                                     template.total_limit)
            answers.update((i, errors.CouponIssueLimit()) for i, ok in zip(fresh, claimed) if not ok)
            fresh = [i for i, ok in zip(fresh, claimed) if ok]
        if fresh:
            issued = await self._issue_to_members(template, [wanted[i] for i in fresh], source, now, validity)
            answers.update(zip(fresh, issued))
            refused = [wanted[i] for i, answer in zip(fresh, issued) if isinstance(answer, errors.CouponMemberLimit)]
            if counted and refused:
                for member_id, issue_key in refused:
                    await self._store.release_total(template.id, total_claim(member_id, issue_key))
        return await self._read_answers(wanted, answers)

    async def _reaching(self, template, wanted, fresh: list[int], answers: dict, now: datetime) -> list[int]:
        tiers = [t.code for t in self.program.tiers]
        statuses = await asyncio.gather(*(self._tiers.status(wanted[i][0], now) for i in fresh))
        reaching = []
        for i, status in zip(fresh, statuses):
            if tier_reaches(status.tier.code, template.min_tier, tiers):
                reaching.append(i)
            else:
                answers[i] = errors.TierTooLow()
        return reaching

    async def _issue_to_members(self, template, wanted: list[tuple[str, str]], source, now, validity) -> list:
        expires_ms = epoch_ms(validity.expires_at)
        codes = await self._claim_new_codes([member_id for member_id, _ in wanted], expires_ms)
        stored = {"template": template.issued_form(), "status": "issued", "issued_at": now.isoformat(),
                  "expires_at": validity.expires_at.isoformat(), "expires_ms": expires_ms,
                  "last_day": validity.last_day.isoformat(),
                  "starts_at": validity.starts_at.isoformat() if validity.starts_at else None, "source": source}
        coupons = [{"code": code, "member_id": member_id, **stored} for (member_id, _), code in zip(wanted, codes)]
        issued = await self._store.issue_many([(coupon, issue_key) for coupon, (_, issue_key) in zip(coupons, wanted)],
                                              template.per_member_limit, now)
        terms = terms_zh(template, validity.last_day, self.program.coupons.names)    # the same for the whole batch
        answers = []
        for coupon, code in zip(coupons, issued):
            if code != coupon["code"]:          # refused, or a replay: this attempt's fresh code is not needed
                await self._store.release_code(coupon["code"], coupon["member_id"])
            answers.append(errors.CouponMemberLimit() if code is None else
                           Coupon(code=code, member_id=coupon["member_id"], template=template, status="issued",
                                  issued_at=now, starts_at=validity.starts_at, expires_at=validity.expires_at,
                                  last_day=validity.last_day, terms=terms, source=source)
                           if code == coupon["code"] else code)
        return answers

    async def _claim_new_codes(self, member_ids: list[str], expires_ms: int) -> list[str]:
        codes: list[str | None] = [None] * len(member_ids)
        for _ in range(5):
            drawing = [i for i, code in enumerate(codes) if code is None]
            if not drawing:
                return codes
            drawn = coupon_codes.new_codes(len(drawing))
            claimed = await self._store.claim_codes([(code, member_ids[i], expires_ms) for i, code in zip(drawing, drawn)])
            for i, code, ok in zip(drawing, drawn, claimed):
                if ok:
                    codes[i] = code
        if any(code is None for code in codes):
            raise RuntimeError("could not draw an unused coupon code")
        return codes

    async def _read_answers(self, wanted: list[tuple[str, str]], answers: dict) -> list[Coupon | errors.DomainError]:
        """Answers given as a code (an issue key's earlier coupon) read as that coupon."""
        by_code = [i for i, answer in answers.items() if isinstance(answer, str)]
        found = await self._store.coupons_by_code([(wanted[i][0], coupon_codes.normalise(answers[i])) for i in by_code])
        for i, raw in zip(by_code, found):
            answers[i] = self._coupon(raw) if raw is not None else errors.UnknownCoupon()
        return [answers[i] for i in range(len(wanted))]

    async def _claim_new_code(self, member_id: str, expires_ms: int) -> str:
        for _ in range(5):
            code = coupon_codes.new_code()
            if await self._store.claim_code(code, member_id, expires_ms):
                return code
        raise RuntimeError("could not draw an unused coupon code")

    # -- the member's wallet -----------------------------------------------------------------------------
    async def wallet(self, member_id: str) -> list[Coupon]:
        """The member's coupons that can be used now or later, soonest expiry first."""
        now = self._clock.now()
        coupons = [self._coupon(raw) for raw in await self._store.coupons(member_id)]
        return sorted((c for c in coupons if c.valid_at(now)), key=lambda c: (c.expires_at, c.code))

    async def member_coupon(self, member_id: str, raw_code: str) -> Coupon:
        """One of the member's own coupons by its code as typed (a typo is refused before any lookup)."""
        code = coupon_codes.normalise(raw_code)
        raw = await self._store.coupon(member_id, code)
        if raw is None:
            raise errors.UnknownCoupon()
        return self._coupon(raw)

    # -- the till ---------------------------------------------------------------------------------------
    async def check(self, raw_code: str, basket: Basket | None) -> CouponCheck:
        """Whether the coupon applies to the basket and its discount; changes nothing."""
        coupon = await self._find(coupon_codes.normalise(raw_code))
        return self._judged(coupon, basket, self._clock.now())

    def _judged(self, coupon: Coupon, basket: Basket | None, now: datetime) -> CouponCheck:
        """The till's verdict; a member-day-only coupon outside the member day is refused with the next one."""
        reason = status_refusal(coupon.state, now)
        today = now.astimezone(MALL_TZ).date()
        rule = self.program.promotions.member_day
        if reason is None and coupon.template.member_day_only and not is_member_day(today, rule):
            return CouponCheck(coupon, Evaluation.refused("not_member_day"), priced=basket is not None,
                               next_member_day=next_member_day(today, rule))
        if basket is None:  # no basket: the coupon itself (status, dates) is judged, no discount priced
            return CouponCheck(coupon, Evaluation(reason is None, ZERO, reason), priced=False)
        return CouponCheck(coupon, evaluate(coupon.template, coupon.state, basket, now))

    async def use(self, raw_code: str, txn_id: str, basket: Basket) -> dict:
        """Use the coupon for the till's transaction, once: the same txn_id again gets the first answer;
        another txn_id raises CouponAlreadyUsed; a coupon that does not apply raises CouponNotApplicable."""
        code = coupon_codes.normalise(raw_code)
        check_ref(txn_id, "txn_id")
        coupon = await self._find(code)
        if coupon.status == "used":
            if coupon.used_txn == txn_id:
                return coupon.used_answer
            raise errors.CouponAlreadyUsed()
        now = self._clock.now()
        checked = self._judged(coupon, basket, now)
        if checked.evaluation.reason == "not_member_day":
            upcoming = checked.next_member_day
            raise errors.MemberDayCoupon(next_on=upcoming.isoformat() if upcoming else None)
        if not checked.evaluation.applies:
            raise errors.CouponNotApplicable(checked.evaluation.reason)
        answer = checked.answer() | {"status": "used", "txn_id": txn_id, "used_at": now.isoformat()}
        return await self._store.use(coupon.member_id, code, txn_id, answer, now)

    async def collect_voucher(self, raw_code: str, ref: str, answer: dict) -> dict:
        """The service desk hands over a voucher coupon's gift, once (loyalty_core/desk.py): the same `ref` again
        gets the first answer; another raises VoucherCollected; a coupon of another kind, NotAVoucher."""
        code = coupon_codes.normalise(raw_code)
        coupon = await self._find(code)
        if coupon.template.kind != "voucher":
            raise errors.NotAVoucher()
        if coupon.status == "used":
            if coupon.used_txn == ref:
                return coupon.used_answer | {"replayed": True}
            raise errors.VoucherCollected(collected_at=(coupon.used_answer or {}).get("collected_at"))
        refusal = status_refusal(coupon.state, self._clock.now())
        if refusal == "expired":
            raise errors.VoucherExpired()
        if refusal is not None:
            raise errors.CouponNotApplicable(refusal)
        answer = answer | {"code": coupon.grouped, "gift": coupon.template.gift or coupon.template.title,
                           "member_id": coupon.member_id}
        try:
            return await self._store.use(coupon.member_id, code, ref, answer, self._clock.now())
        except errors.CouponAlreadyUsed:           # collected by a concurrent request in between
            raise errors.VoucherCollected() from None

    async def revoke(self, raw_code: str) -> Coupon:
        code = coupon_codes.normalise(raw_code)
        coupon = await self._find(code)
        await self._store.revoke(coupon.member_id, code, self._clock.now())
        return await self.member_coupon(coupon.member_id, code)

    async def _find(self, code: str) -> Coupon:
        member_id = await self._store.owner(code)
        raw = None if member_id is None else await self._store.coupon(member_id, code)
        if raw is None:
            raise errors.UnknownCoupon()
        return self._coupon(raw)

    async def last_day_on(self, day: date) -> dict[str, list[Coupon]]:
        """The members' coupons still usable whose last day is `day`, by member (for the reminder); the
        expiry index finds them, so only those coupons are read."""
        start = datetime.combine(day, datetime.min.time(), MALL_TZ)
        found: dict[str, list[Coupon]] = {}
        for member_id, code in await self._store.expiring_between(start, start + timedelta(days=1)):
            raw = await self._store.coupon(member_id, code)
            coupon = self._coupon(raw) if raw else None
            if coupon is not None and coupon.status == "issued" and coupon.last_day == day:
                found.setdefault(member_id, []).append(coupon)
        return found

    # -- the expiry job ---------------------------------------------------------------------------------
    async def expire_due(self, now: datetime | None = None, batch: int = 500) -> int:
        """Mark the coupons past their validity expired; visits only the expiry index's due entries.
        Returns how many coupons it expired."""
        now = now or self._clock.now()
        expired = 0
        async for entry in walk_partitions(lambda part, offset: self._store.due(now, part, offset, batch),
                                           self._store.index_partitions, batch):
            member_id, _, code = entry.partition(":")
            expired += await self._store.expire(member_id, code, now)
        return expired

    def _coupon(self, raw: dict) -> Coupon:
        """The coupon of its stored form."""
        template = CouponTemplate.from_dict(raw["template"])
        last_day = date.fromisoformat(raw["last_day"])
        return Coupon(
            code=raw["code"], member_id=raw["member_id"], template=template, status=raw["status"],
            issued_at=datetime.fromisoformat(raw["issued_at"]),
            starts_at=datetime.fromisoformat(raw["starts_at"]) if raw.get("starts_at") else None,
            expires_at=datetime.fromisoformat(raw["expires_at"]), last_day=last_day,
            terms=terms_zh(template, last_day, self.program.coupons.names), source=raw.get("source") or "",
            used_txn=raw.get("used_txn") or "",
            used_answer=orjson.loads(raw["used_answer"]) if raw.get("used_answer") else None)
