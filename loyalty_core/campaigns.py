"""Campaigns: a segment, variants and a holdout, sent as marketing pushes through the push service, measured.

Create (exactly once per campaign_id): the body is checked whole — the segment's tiers and coupon templates,
each variant's coupon template, its text rendered for a sample member with a sample coupon — and refused
with InvalidCampaign naming the problem before anything is stored. The same body again answers the first
answer; another body under the same id is a CampaignConflict.

Send (`send`, for the API, the scheduler, or any core feature that has a segment and variants): the segment's
members at that moment, a batch at a time; each member's arm recorded once (campaign_rules.arm_for); a member
of a variant gets the variant's coupon (issue key `campaign:<id>`) and a marketing push (topic
`campaign:<id>:<variant>`, dedup key `campaign:<id>`), so the planner decides the channel, the caps and the
quiet hours, and never sends the campaign to a member twice. Holdout members get nothing and are measured the
same way (campaign_results.py). A recurring campaign (`repeat`, cron.py) is sent once per run: its issue and
dedup keys carry the run (`campaign:<id>:<yyyymmddHHMM>`), and the next run is scheduled when one ends.
"""
from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, AsyncIterator, Mapping, Protocol

import orjson

from . import errors
from .campaign_rules import (
    CANCELLED, HOLDOUT, PREFERRED_CATEGORY, SCHEDULED, SENDING, SENT, CampaignDefinition,
)
from .campaign_sending import CampaignSender, TrackedLinks, coupon_values, topic_of
from .clock import MALL_TZ, Clock
from .cron import CronError, parse_cron
from .program import Program, ProgramError, parse_campaign_table
from .push.model import Push
from .segment_rules import Segment
from .statement import sample_statement


@dataclass(frozen=True)
class StoredCampaign:
    campaign_id: str
    body: dict
    status: str
    version: int
    runs: int = 0             # a recurring campaign's runs done


class CampaignStore(Protocol):
    async def create(self, campaign_id: str, fingerprint: str, body: dict, answer: dict, now: datetime,
                     status: str, due: datetime | None) -> tuple[bool, str, dict]: ...
    async def get(self, campaign_id: str) -> StoredCampaign | None: ...
    async def recent(self, limit: int) -> list[StoredCampaign]: ...
    async def move(self, campaign_id: str, allowed: tuple[str, ...], status: str,
                   next_due: datetime | None = None) -> bool: ...
    async def due_at(self, campaign_id: str) -> datetime | None: ...
    async def due(self, now: datetime, limit: int = 100) -> list[str]: ...
    async def assign(self, campaign_id: str, arms: list[tuple[str, str]]) -> list[str]: ...
    async def join_many(self, joins: list[tuple[str, str]], campaign_id: str, now: datetime, days: int) -> None: ...
    async def joined(self, member_id: str) -> dict[str, dict]: ...
    async def mark(self, campaign_id: str, mark: str, counts: dict[str, int]) -> bool: ...
    async def unmark_spend(self, campaign_id: str, txn_id: str, refund_id: str, field: str, fen: int) -> bool:
        """Take a refund off the spend a campaign counted for txn_id, once per refund (False: not counted)."""
    async def mark_many(self, campaign_id: str, marks: list[tuple[str, tuple[str, ...]]]) -> list[bool]:
        """`mark` of each (mark, count fields), counting 1 in each field (names without ',')."""
    async def counts(self, campaign_id: str) -> dict[tuple[str, str], int]: ...
    async def save_links(self, links: dict[str, dict]) -> None: ...
    async def link(self, token: str) -> dict | None: ...


class TextRenderer(Protocol):
    def render(self, text: str, values: Mapping[str, Any]) -> str:
        """Raises InvalidCampaign naming what does not render."""


class Audience(Protocol):
    async def checked(self, raw) -> Segment: ...
    def members(self, segment: Segment, today, batch: int = 1000) -> AsyncIterator[list[str]]: ...


class Delivery(Protocol):
    async def plan(self, push: Push) -> Any: ...
    async def plan_many(self, pushes: list[Push]) -> list[Any]:
        """`plan` of each push (None for a member who does not exist)."""


class SendShares(Protocol):
    """A campaign's send split between processes: `count` shares of the members, the first delivered by the process
    that sends, the others each by a process of its own."""
    count: int

    async def deliver(self, campaign_id: str, run: str) -> None:
        """`CampaignService.deliver_share(campaign_id, run, share, count)` for shares 1 to count - 1 at once; raises
        when one failed (after all have ended)."""


@dataclass(frozen=True)
class Campaigns:
    """What the campaign service works with (one object, so that other features can build it too)."""
    store: CampaignStore
    audience: Audience
    facts: Any                # MemberFactsService: facts(member_id), text_facts_many(member_ids), today()
    members: Any              # MemberService: get(member_id), nicknames_many(member_ids)
    coupons: Any              # CouponService: template(id), issue_many(...)
    pushes: Delivery
    topic_counts: Any         # async (topic) -> {(channel, outcome): n}
    renderer: TextRenderer
    program: Program
    clock: Clock
    link_key: bytes           # signs the tracked links' tokens, so nobody can make one that counts another member's click
    link_base: str = "/r/"    # tracked links are <link_base><token>
    statements: Any = None    # MonthlyStatements: `{{ member.statement }}`
    shares: SendShares | None = None    # None: one process sends all


def canonical(body: dict) -> dict:
    """The body as stored: its numbers with a fraction (read as Decimal) as their text."""
    return orjson.loads(orjson.dumps(body, default=_as_text))


def _as_text(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def fingerprint_of(body: dict) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def parse_definition(raw: Any) -> CampaignDefinition:
    if not isinstance(raw, dict):
        raise errors.InvalidCampaign("the campaign must be an object")
    try:
        return parse_campaign_table(raw)
    except ProgramError as error:
        raise errors.InvalidCampaign(str(error)) from None


class CampaignService:
    def __init__(self, parts: Campaigns):
        self._p = parts
        self._sender = CampaignSender(parts)

    # -- creating -------------------------------------------------------------------------------------------
    async def create(self, body: dict) -> tuple[dict, bool]:
        """The answer, and whether this call created the campaign (False: the same body again)."""
        definition = parse_definition(body)
        await self._check(definition, body)
        now = self._p.clock.now()
        status = SCHEDULED
        due = definition.send_at or (parse_cron(definition.repeat).next_after(now) if definition.repeat else now)
        answer = {"campaign_id": definition.campaign_id, "status": status, "send_at": due.isoformat()}
        body = canonical(body)
        fingerprint = fingerprint_of(body)
        created, stored, first = await self._p.store.create(definition.campaign_id, fingerprint, body, answer, now,
                                                            status, due)
        if not created and stored != fingerprint:
            raise errors.CampaignConflict()
        return first, created

    async def launch(self, campaign_id: str, name: str, segment: dict, variants: list[dict], *,
                     holdout: Decimal = Decimal(0), send_at: datetime | None = None, mass_send: bool = False,
                     conversion_days: int = 14, repeat: str | None = None) -> dict:
        """A campaign made by another feature (event invitations, say): created once, like one from the API,
        and sent now unless `send_at` says later or `repeat` (a cron timetable) says when (then the scheduler
        sends it)."""
        body = {"campaign_id": campaign_id, "name": name, "kind": "marketing", "segment": segment,
                "variants": variants, "holdout": holdout, "send_at": send_at.isoformat() if send_at else None,
                "repeat": repeat, "channels": {"mass_send": mass_send}, "conversion_days": conversion_days}
        answer, _ = await self.create(body)
        if send_at is None and repeat is None:
            await self.send(campaign_id)
        return answer

    async def _check(self, definition: CampaignDefinition, body: dict) -> None:
        try:
            await self._p.audience.checked(body.get("segment", {}))
        except errors.InvalidSegment as problem:
            raise errors.InvalidCampaign(str(problem)) from None
        if definition.repeat:
            try:
                parse_cron(definition.repeat)
            except CronError as problem:
                raise errors.InvalidCampaign(f"repeat: {problem}") from None
        sample = _sample_member(self._p.program)
        for i, variant in enumerate(definition.variants):
            coupon = None
            if variant.coupon_template == PREFERRED_CATEGORY:
                coupon = await self._sample_category_coupon(i)
            elif variant.coupon_template:
                try:
                    coupon = coupon_values(await self._p.coupons.template(variant.coupon_template), "", None)
                except errors.UnknownCouponTemplate:
                    raise errors.InvalidCampaign(f"variants[{i}].coupon_template: unknown coupon template "
                                                 f"{variant.coupon_template!r}") from None
            # A member without a category coupon gets none: such a text must render without one too.
            for sample_coupon in [coupon, None] if variant.coupon_template == PREFERRED_CATEGORY else [coupon]:
                problem = self._render_problem(variant.text, sample, sample_coupon)
                if problem:
                    why = self._why_no_coupon(variant.text, variant.coupon_template, sample, sample_coupon)
                    raise errors.InvalidCampaign(f"variants[{i}].text: {problem}{why}")

    def _render_problem(self, text: str, member: dict, coupon: dict | None) -> str:
        """Why the text does not render for the member's values with the coupon, or "" when it does."""
        links = TrackedLinks(self._p.link_base, self._p.link_key, "sample", "sample", "sample")
        try:
            self._p.renderer.render(text, {"member": member, "coupon": coupon, "link": links.link})
        except errors.InvalidCampaign as problem:
            return str(problem)
        return ""

    def _why_no_coupon(self, text: str, coupon_template: str, member: dict, coupon: dict | None) -> str:
        """Who gets no coupon, when the text fails for want of one (it renders with a coupon): a member without a
        category coupon, or everyone in a variant that gives none."""
        if coupon is not None or self._render_problem(text, member, STAND_IN_COUPON):
            return ""
        if coupon_template == PREFERRED_CATEGORY:
            return " for a member without a category coupon ({% if coupon %}…{% endif %})"
        return " (this variant gives no coupon: choose one for it)"

    async def _sample_category_coupon(self, i: int) -> dict | None:
        mapping = self._p.program.segments.category_coupons
        if not mapping:
            raise errors.InvalidCampaign(f"variants[{i}].coupon_template: {PREFERRED_CATEGORY} needs "
                                         "segments.category_coupons in the program")
        return coupon_values(await self._p.coupons.template(next(iter(mapping.values()))), "", None)

    # -- reading --------------------------------------------------------------------------------------------
    async def stored(self, campaign_id: str) -> tuple[StoredCampaign, CampaignDefinition]:
        stored = await self._p.store.get(campaign_id)
        if stored is None:
            raise errors.UnknownCampaign()
        return stored, parse_definition(stored.body)

    async def listed(self, limit: int = 50) -> list[dict]:
        """The recent campaigns as a list shows them: id, name, status, when each scheduled one is next sent (a
        recurring one's next run, not its definition's send_at) and a recurring one's timetable."""
        recent = await self._p.store.recent(limit)
        next_sends = await asyncio.gather(*(self._next_send_at(stored) for stored in recent))
        return [{"campaign_id": stored.campaign_id, "name": stored.body.get("name", ""), "status": stored.status,
                 "repeat": stored.body.get("repeat") or "", "next_send_at": next_send}
                for stored, next_send in zip(recent, next_sends)]

    async def _next_send_at(self, stored: StoredCampaign) -> str | None:
        """When a scheduled campaign is next sent, in mall time (None: not scheduled)."""
        next_at = await self._p.store.due_at(stored.campaign_id) if stored.status == SCHEDULED else None
        return next_at.astimezone(MALL_TZ).isoformat() if next_at else None

    async def preview_text(self, text: str, coupon_template: str, member_ids: list[str]) -> list[tuple[str, str]]:
        """(member_id, the text as that member would read it) for sample members, with the coupon's title and a
        sample code (nothing is issued, no link is saved). InvalidCampaign names what stops the text rendering."""
        previews = []
        for member_id in member_ids:
            facts = await self._p.facts.facts(member_id)
            template_id = coupon_template
            if template_id == PREFERRED_CATEGORY:
                category = facts.preferred_category if facts else ""
                template_id = self._p.program.segments.category_coupons.get(category, "")
            coupon = None
            if template_id:
                try:
                    coupon = coupon_values(await self._p.coupons.template(template_id), "SAMPLE-CODE", None)
                except errors.UnknownCouponTemplate:
                    raise errors.InvalidCampaign(f"coupon_template: unknown coupon template {template_id!r}") from None
            links = TrackedLinks(self._p.link_base, self._p.link_key, "preview", member_id, "preview")
            nickname = (await self._p.members.get(member_id)).nickname
            member = self._sender.member_values(nickname, facts,
                                                await self._sender.statement(member_id, "statement" in text))
            try:
                previews.append((member_id, self._p.renderer.render(text, {"member": member, "coupon": coupon,
                                                                           "link": links.link})))
            except errors.InvalidCampaign as problem:
                why = self._why_no_coupon(text, coupon_template, member, coupon)
                raise errors.InvalidCampaign(f"{problem}{why}") from None
        return previews

    async def status(self, campaign_id: str) -> dict:
        stored, definition = await self.stored(campaign_id)
        counts = await self._p.store.counts(campaign_id)
        pushes = await push_counts(self._p, definition)
        dropped: dict[str, int] = {}
        for (channel, outcome), n in pushes.items():
            if outcome in ("dropped", "expired", "unsubscribed", "capped"):
                dropped[outcome] = dropped.get(outcome, 0) + n
        audience = sum(n for (arm, measure), n in counts.items() if measure == "members")
        return {"campaign_id": campaign_id, "name": definition.name, "status": stored.status,
                "version": stored.version, "runs": stored.runs, "next_send_at": await self._next_send_at(stored),
                "audience": audience, "holdout": counts.get((HOLDOUT, "members"), 0),
                "planned": sum(n for (_, measure), n in counts.items() if measure == "planned"),
                "sent": outcome_count(pushes, "sent"), "pending_inbox": outcome_count(pushes, "pending_inbox"),
                "deferred": outcome_count(pushes, "deferred"), "dropped": dropped,
                "untold": sum(n for (_, measure), n in counts.items() if measure == "untold")}

    # -- sending --------------------------------------------------------------------------------------------
    async def cancel(self, campaign_id: str) -> dict:
        await self.stored(campaign_id)
        if not await self._p.store.move(campaign_id, (SCHEDULED, SENDING), CANCELLED):
            raise errors.CampaignClosed()
        return await self.status(campaign_id)

    async def send_due(self) -> int:
        """Send the campaigns whose time has come; returns how many were sent."""
        sent = 0
        for campaign_id in await self._p.store.due(self._p.clock.now()):
            sent += await self.send(campaign_id)
        return sent

    async def send(self, campaign_id: str) -> bool:
        """Send the campaign to its segment as it is now; a send cut short is taken up again by calling again
        (assignments, coupons and pushes are each once per member and run). A recurring campaign is then
        scheduled for its next time. False when it was cancelled or sent already."""
        stored, definition = await self.stored(campaign_id)
        if stored.status in (SENT, CANCELLED):
            return False
        due = await self._p.store.due_at(campaign_id) or self._p.clock.now()
        run = due.astimezone(MALL_TZ).strftime("%Y%m%d%H%M") if definition.repeat else ""
        await self._p.store.move(campaign_id, (SCHEDULED,), SENDING)
        shares = self._p.shares
        if shares is None or shares.count == 1:
            if not await self.deliver_share(campaign_id, run):
                return False
        else:
            here, elsewhere = await asyncio.gather(self.deliver_share(campaign_id, run, 0, shares.count),
                                                   shares.deliver(campaign_id, run), return_exceptions=True)
            for outcome in (here, elsewhere):
                if isinstance(outcome, BaseException):
                    raise outcome
            if not here or (await self._p.store.get(campaign_id)).status == CANCELLED:
                return False
        if definition.repeat:
            later = parse_cron(definition.repeat).next_after(max(due, self._p.clock.now()))
            return await self._p.store.move(campaign_id, (SENDING,), SCHEDULED, later)
        return await self._p.store.move(campaign_id, (SENDING,), SENT)

    async def deliver_share(self, campaign_id: str, run: str = "", share: int = 0, of: int = 1) -> bool:
        """Deliver to the segment's members whose share (campaign_rules.share_of) is `share` of `of` (what one
        process of a split send does); False when the campaign was cancelled meanwhile."""
        _, definition = await self.stored(campaign_id)
        return await self._sender.deliver_share(definition, run, share, of)

    async def deliver(self, definition: CampaignDefinition, member_ids: list[str], run: str = "") -> None:
        """Assign a batch of members and send to those in a variant (`run`: a recurring campaign's run)."""
        await self._sender.deliver(definition, member_ids, run)

async def push_counts(parts: Campaigns, definition: CampaignDefinition, arm: str | None = None) -> dict:
    """(channel, outcome) -> pushes of the campaign's variants (or one arm), as the push side counted them."""
    total: dict[tuple[str, str], int] = {}
    for name in [arm] if arm else [v.name for v in definition.variants]:
        for key, n in (await parts.topic_counts(topic_of(definition.campaign_id, name))).items():
            total[key] = total.get(key, 0) + n
    return total


def outcome_count(counts: dict, outcome: str) -> int:
    return sum(n for (_, name), n in counts.items() if name == outcome)


# A coupon as a text sees it (the fields a sent coupon has): whether a text fails for want of one.
STAND_IN_COUPON = coupon_values(SimpleNamespace(title="示例券", id="sample"), "SAMPLE", date(2026, 1, 31))


def _sample_member(program: Program) -> dict:
    tier = program.base_tier
    return {"name": "会员", "tier": tier.code, "tier_name": tier.name, "balance": 0, "preferred_category": "",
            "category_name": "", "stage": "potential", "statement": sample_statement()}
