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
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, AsyncIterator, Mapping, Protocol

import orjson

from . import errors
from .campaign_rules import HOLDOUT, PREFERRED_CATEGORY, CampaignDefinition, arm_for, share_of
from .clock import MALL_TZ, Clock
from .cron import CronError, parse_cron
from .member_facts import Facts
from .program import Program, ProgramError, parse_campaign_table
from .push.model import Content, Push
from .segment_rules import Segment
from .statement import sample_statement

log = logging.getLogger("loyalty_core.campaigns")

SCHEDULED, SENDING, SENT, CANCELLED = "scheduled", "sending", "sent", "cancelled"
VALID_FOR = timedelta(days=3)             # how long a campaign's push may wait to be delivered
MAX_URL = 1000
SEND_BATCH = 1000
BATCHES_IN_FLIGHT = 3     # a batch's Python work overlaps the Redis work of the others
COUPON_REFUSALS = (errors.CouponIssueLimit, errors.CouponMemberLimit, errors.CouponNotIssuable, errors.TierTooLow)


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
    async def mark_many(self, campaign_id: str, marks: list[tuple[str, str]]) -> list[bool]:
        """`mark` of each (mark, count field), counting 1."""
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
    """A campaign's send split between processes: `count` of them, each delivering its share of the members."""
    count: int

    async def deliver(self, campaign_id: str, run: str) -> None:
        """`CampaignService.deliver_share(campaign_id, run, share, count)` for every share at once; raises when one
        failed (after all have ended)."""


@dataclass(frozen=True)
class Campaigns:
    """What the campaign service works with (one object, so that other features can build it too)."""
    store: CampaignStore
    audience: Audience
    facts: Any                # MemberFactsService: facts_many(member_ids), today()
    members: Any              # MemberService: get_many(member_ids)
    coupons: Any              # CouponService: template(id), issue_many(...)
    pushes: Delivery
    topic_counts: Any         # async (topic) -> {(channel, outcome): n}
    renderer: TextRenderer
    program: Program
    clock: Clock
    link_base: str = "/r/"    # tracked links are <link_base><token>
    statements: Any = None    # MonthlyStatements: `{{ member.statement }}`
    shares: SendShares | None = None    # None: one process sends all


class TrackedLinks:
    """`{{ link("https://…") }}` in a campaign text: a short link of ours that counts the member's click and
    redirects. The token is derived from the campaign, the member and the URL, so a text rendered again makes
    the same links."""

    def __init__(self, base: str, campaign_id: str, member_id: str, arm: str):
        self._base, self._campaign_id, self._member_id, self._arm = base, campaign_id, member_id, arm
        self.made: dict[str, dict] = {}

    def link(self, url: str) -> str:
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > MAX_URL:
            raise ValueError("link() takes an http(s) URL")
        token = hashlib.sha256(f"{self._campaign_id}|{self._member_id}|{url}".encode()).hexdigest()[:22]
        self.made[token] = {"campaign_id": self._campaign_id, "member_id": self._member_id, "arm": self._arm,
                            "url": url}
        return self._base + token


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
                    coupon = _coupon_values(await self._p.coupons.template(variant.coupon_template), "", None)
                except errors.UnknownCouponTemplate:
                    raise errors.InvalidCampaign(f"variants[{i}].coupon_template: unknown coupon template "
                                                 f"{variant.coupon_template!r}") from None
            # A member without a category coupon gets none: such a text must render without one too.
            coupons = [coupon, None] if variant.coupon_template == PREFERRED_CATEGORY else [coupon]
            for sample_coupon in coupons:
                try:
                    links = TrackedLinks(self._p.link_base, definition.campaign_id, "sample", variant.name)
                    self._p.renderer.render(variant.text, {"member": sample, "coupon": sample_coupon,
                                                           "link": links.link})
                except errors.InvalidCampaign as problem:
                    without = " for a member without a category coupon ({% if coupon %}…{% endif %})" \
                        if sample_coupon is None else ""
                    raise errors.InvalidCampaign(f"variants[{i}].text: {problem}{without}") from None

    async def _sample_category_coupon(self, i: int) -> dict | None:
        mapping = self._p.program.segments.category_coupons
        if not mapping:
            raise errors.InvalidCampaign(f"variants[{i}].coupon_template: {PREFERRED_CATEGORY} needs "
                                         "segments.category_coupons in the program")
        return _coupon_values(await self._p.coupons.template(next(iter(mapping.values()))), "", None)

    # -- reading --------------------------------------------------------------------------------------------
    async def stored(self, campaign_id: str) -> tuple[StoredCampaign, CampaignDefinition]:
        stored = await self._p.store.get(campaign_id)
        if stored is None:
            raise errors.UnknownCampaign()
        return stored, parse_definition(stored.body)

    async def recent(self, limit: int = 50) -> list[StoredCampaign]:
        return await self._p.store.recent(limit)

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
                    coupon = _coupon_values(await self._p.coupons.template(template_id), "SAMPLE-CODE", None)
                except errors.UnknownCouponTemplate:
                    raise errors.InvalidCampaign(f"coupon_template: unknown coupon template {template_id!r}") from None
            links = TrackedLinks(self._p.link_base, "preview", member_id, "preview")
            member = self._member_values(await self._p.members.get(member_id), facts,
                                         await self._statement(member_id, "statement" in text))
            previews.append((member_id, self._p.renderer.render(text, {"member": member, "coupon": coupon,
                                                                       "link": links.link})))
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
        next_at = await self._p.store.due_at(campaign_id) if stored.status == SCHEDULED else None
        return {"campaign_id": campaign_id, "name": definition.name, "status": stored.status,
                "version": stored.version, "runs": stored.runs,
                "next_send_at": next_at.astimezone(MALL_TZ).isoformat() if next_at else None,
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
            await shares.deliver(campaign_id, run)
            if (await self._p.store.get(campaign_id)).status == CANCELLED:
                return False
        if definition.repeat:
            later = parse_cron(definition.repeat).next_after(max(due, self._p.clock.now()))
            return await self._p.store.move(campaign_id, (SENDING,), SCHEDULED, later)
        return await self._p.store.move(campaign_id, (SENDING,), SENT)

    async def deliver_share(self, campaign_id: str, run: str = "", share: int = 0, of: int = 1) -> bool:
        """Deliver to the segment's members whose share (campaign_rules.share_of) is `share` of `of`, a few batches
        in flight; False when the campaign was cancelled meanwhile."""
        _, definition = await self.stored(campaign_id)
        in_flight: set[asyncio.Task] = set()
        try:
            async for batch in self._p.audience.members(definition.segment, self._p.facts.today(), SEND_BATCH * of):
                if (await self._p.store.get(campaign_id)).status == CANCELLED:
                    return False
                mine = batch if of == 1 else [member_id for member_id in batch if share_of(member_id, of) == share]
                if mine:
                    in_flight.add(asyncio.ensure_future(self.deliver(definition, mine, run)))
                if len(in_flight) >= BATCHES_IN_FLIGHT:
                    await _first_done(in_flight)
            while in_flight:
                await _first_done(in_flight)
        finally:
            await _settled(in_flight)
        return True

    async def deliver(self, definition: CampaignDefinition, member_ids: list[str], run: str = "") -> None:
        """Assign a batch of members and send to those in a variant (`run`: a recurring campaign's run, which
        reaches each member once more). Each step is taken for the whole batch at once, in the order a single
        member's would be: the arm, the note that their purchases count, the coupon, the text, the push, the
        counts. Each is once per member and run, so a batch cut short anywhere is completed by delivering it again."""
        campaign_id, now = definition.campaign_id, self._p.clock.now()
        arms = await self._p.store.assign(campaign_id, [(m, arm_for(campaign_id, m, definition)) for m in member_ids])
        await self._p.store.join_many(list(zip(member_ids, arms)), campaign_id, now, definition.conversion_days)
        reached = [(member_id, arm) for member_id, arm in zip(member_ids, arms) if arm != HOLDOUT]
        if reached:
            await self._send_to(definition, reached, run)

    async def _send_to(self, definition: CampaignDefinition, reached: list[tuple[str, str]], run: str) -> None:
        campaign_id = definition.campaign_id
        once = f"campaign:{campaign_id}" + (f":{run}" if run else "")
        member_ids = [member_id for member_id, _ in reached]
        facts, members, statements = await asyncio.gather(self._p.facts.facts_many(member_ids),
                                                          self._p.members.get_many(member_ids),
                                                          self._statements_for(definition, reached))
        coupons = await self._coupons_for(definition, reached, facts, once)
        pushes, arms, marks, links = [], [], [], {}
        for (member_id, arm), member_facts, member, coupon, statement in zip(reached, facts, members, coupons,
                                                                            statements):
            if member is None:
                log.warning("campaign %s: member %s has no profile", campaign_id, member_id)
                continue
            tracked = TrackedLinks(self._p.link_base, campaign_id, member_id, arm)
            values = {"member": self._member_values(member, member_facts, statement), "coupon": coupon,
                      "link": tracked.link}
            try:
                text = self._p.renderer.render(definition.variant(arm).text, values)
            except errors.InvalidCampaign as problem:   # e.g. the coupon the text names could not be issued
                log.warning("campaign %s: no text for member %s (%s)", campaign_id, member_id, problem.code)
                marks.append((f"untold:{once}:{member_id}", f"{arm}|untold"))
                continue
            links.update(tracked.made)
            mass = {"msgtype": "text", "text": {"content": text}} if definition.channels.mass_send else None
            pushes.append(Push(push_id="", member_id=member_id, kind="marketing", topic=topic_of(campaign_id, arm),
                               not_after=self._p.clock.now() + VALID_FOR, content=Content.text(text, mass=mass),
                               dedup_key=once))
            arms.append(arm)
        if links:
            await self._p.store.save_links(links)
        planned = await self._p.pushes.plan_many(pushes)
        marks += [(f"planned:{once}:{push.member_id}", f"{arm}|planned")
                  for push, arm, record in zip(pushes, arms, planned) if record is not None]
        await self._p.store.mark_many(campaign_id, marks)

    async def _coupons_for(self, definition, reached: list[tuple[str, str]], facts: list[Facts | None],
                           issue_key: str) -> list[dict | None]:
        """Each reached member's coupon values (None: no coupon), issued a template at a time; each issue counted
        once per member and run."""
        by_template: dict[str, list[int]] = {}
        for i, ((_, arm), member_facts) in enumerate(zip(reached, facts)):
            template_id = definition.variant(arm).coupon_template
            if template_id == PREFERRED_CATEGORY:
                category = member_facts.preferred_category if member_facts else ""
                template_id = self._p.program.segments.category_coupons.get(category, "")
            if template_id:
                by_template.setdefault(template_id, []).append(i)
        values: list[dict | None] = [None] * len(reached)
        marks = []
        for template_id, members in by_template.items():
            template = await self._p.coupons.template(template_id)
            issued = await self._p.coupons.issue_many(template, [(reached[i][0], issue_key) for i in members],
                                                      source=f"campaign:{definition.campaign_id}")
            for i, coupon in zip(members, issued):
                member_id, arm = reached[i]
                if isinstance(coupon, COUPON_REFUSALS):
                    log.warning("campaign %s: no coupon for member %s (%s)", definition.campaign_id, member_id,
                                coupon.code)
                elif isinstance(coupon, Exception):
                    raise coupon
                else:
                    marks.append((f"coupon:{issue_key}:{member_id}", f"{arm}|coupons"))
                    values[i] = _coupon_values(coupon.template, coupon.grouped, coupon.last_day)
        if marks:
            await self._p.store.mark_many(definition.campaign_id, marks)
        return values

    async def _statements_for(self, definition, reached: list[tuple[str, str]]) -> list[str | None]:
        """Each reached member's monthly statement, read only for a variant whose text shows it."""
        shows = {arm: "statement" in definition.variant(arm).text for arm in {arm for _, arm in reached}}
        if not any(shows.values()) or self._p.statements is None:
            return [None] * len(reached)
        return list(await asyncio.gather(*(self._statement(member_id, shows[arm]) for member_id, arm in reached)))

    async def _statement(self, member_id: str, shown: bool) -> str | None:
        return await self._p.statements.text(member_id) if shown and self._p.statements is not None else None

    def _member_values(self, member, facts: Facts | None, statement: str | None = None) -> dict:
        tier = self._p.program.tier(facts.tier if facts else "")
        category = facts.preferred_category if facts else ""
        values = {"name": member.nickname or "亲爱的会员", "tier": tier.code, "tier_name": tier.name,
                  "balance": facts.balance if facts else 0, "preferred_category": category,
                  "category_name": self._p.program.coupons.category_names.get(category, category),
                  "stage": facts.stage if facts else "potential"}
        if statement is not None:
            values["statement"] = statement
        return values


async def _first_done(tasks: set[asyncio.Task]) -> None:
    """Wait for one of the batches in flight to end; its failure is raised."""
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        tasks.discard(task)
        task.result()


async def _settled(tasks: set[asyncio.Task]) -> None:
    """Batches still in flight when the send stops (cancelled, or another batch failed) end first."""
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


def topic_of(campaign_id: str, arm: str) -> str:
    return f"campaign:{campaign_id}:{arm}"


async def push_counts(parts: Campaigns, definition: CampaignDefinition, arm: str | None = None) -> dict:
    """(channel, outcome) -> pushes of the campaign's variants (or one arm), as the push side counted them."""
    total: dict[tuple[str, str], int] = {}
    for name in [arm] if arm else [v.name for v in definition.variants]:
        for key, n in (await parts.topic_counts(topic_of(definition.campaign_id, name))).items():
            total[key] = total.get(key, 0) + n
    return total


def outcome_count(counts: dict, outcome: str) -> int:
    return sum(n for (_, name), n in counts.items() if name == outcome)


def _coupon_values(template, code: str, last_day) -> dict:
    return {"title": template.title, "code": code, "template": template.id,
            "last_day": last_day.isoformat() if last_day else ""}


def _sample_member(program: Program) -> dict:
    tier = program.base_tier
    return {"name": "会员", "tier": tier.code, "tier_name": tier.name, "balance": 0, "preferred_category": "",
            "category_name": "", "stage": "potential", "statement": sample_statement()}
