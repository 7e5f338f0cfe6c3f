"""Sending a campaign to its members, a batch at a time (the steps and their order: CampaignService.deliver):
each member's arm, the note that their purchases count, the coupon, the text rendered for them, the marketing push
and the counts. Each step is once per member and run, so a batch cut short is completed by delivering it again."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from . import errors
from .campaign_rules import CANCELLED, HOLDOUT, PREFERRED_CATEGORY, CampaignDefinition, arm_for, share_of
from .member_facts import Facts, TextFacts
from .push.model import Content, Push, push_id_for

if TYPE_CHECKING:
    from .campaigns import Campaigns

log = logging.getLogger("loyalty_core.campaigns")

VALID_FOR = timedelta(days=3)             # how long a campaign's push may wait to be delivered
MAX_URL = 1000
SEND_BATCH = 1000
BATCHES_IN_FLIGHT = 3     # a batch's Python work overlaps the Redis work of the others
COUPON_REFUSALS = (errors.CouponIssueLimit, errors.CouponMemberLimit, errors.CouponNotIssuable, errors.TierTooLow)


class TrackedLinks:
    """`{{ link("https://…") }}` in a campaign text: a short link of ours that counts the member's click and
    redirects. The token is a keyed hash of the campaign, the member and the URL: a text rendered again makes the
    same links, and nobody without the key can make the token of another member's click."""

    def __init__(self, base: str, key: bytes, campaign_id: str, member_id: str, arm: str):
        self._base, self._key, self._campaign_id, self._member_id, self._arm = base, key, campaign_id, member_id, arm
        self.made: dict[str, dict] = {}

    def link(self, url: str) -> str:
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > MAX_URL:
            raise ValueError("link() takes an http(s) URL")
        signed = f"{self._campaign_id}|{self._member_id}|{url}".encode()
        token = hmac.new(self._key, signed, hashlib.sha256).hexdigest()[:22]
        self.made[token] = {"campaign_id": self._campaign_id, "member_id": self._member_id, "arm": self._arm,
                            "url": url}
        return self._base + token


class CampaignSender:
    def __init__(self, parts: "Campaigns"):
        self._p = parts

    async def deliver_share(self, definition: CampaignDefinition, run: str = "", share: int = 0, of: int = 1) -> bool:
        """Deliver to the segment's members whose share (campaign_rules.share_of) is `share` of `of`, a few batches
        in flight; False when the campaign was cancelled meanwhile."""
        campaign_id = definition.campaign_id
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
        facts, nicknames, statements = await asyncio.gather(self._p.facts.text_facts_many(member_ids),
                                                            self._p.members.nicknames_many(member_ids),
                                                            self._statements_for(definition, reached))
        coupons = await self._coupons_for(definition, reached, facts, once)
        # What every push of the batch shares, worked out once.
        texts = {variant.name: variant.text for variant in definition.variants}
        topics = {name: topic_of(campaign_id, name) for name in texts}
        push_id, not_after = push_id_for(once), self._p.clock.now() + VALID_FOR
        pushes, told, marks, links = [], [], [], {}
        for (member_id, arm), member_facts, nickname, coupon, statement in zip(reached, facts, nicknames, coupons,
                                                                              statements):
            counted = (f"{arm}|coupons",) if coupon else ()    # counted with the member's last step, once
            if nickname is None:
                log.warning("campaign %s: member %s has no profile", campaign_id, member_id)
                if counted:
                    marks.append((f"coupon:{once}:{member_id}", counted))
                continue
            tracked = TrackedLinks(self._p.link_base, self._p.link_key, campaign_id, member_id, arm)
            values = {"member": self.member_values(nickname, member_facts, statement), "coupon": coupon,
                      "link": tracked.link}
            try:
                text = self._p.renderer.render(texts[arm], values)
            except errors.InvalidCampaign as problem:   # e.g. the coupon the text names could not be issued
                log.warning("campaign %s: no text for member %s (%s)", campaign_id, member_id, problem.code)
                marks.append((f"untold:{once}:{member_id}", (f"{arm}|untold", *counted)))
                continue
            links.update(tracked.made)
            mass = {"msgtype": "text", "text": {"content": text}} if definition.channels.mass_send else None
            pushes.append(Push(push_id=push_id, member_id=member_id, kind="marketing", topic=topics[arm],
                               not_after=not_after, content=Content.text(text, mass=mass), dedup_key=once))
            told.append((arm, counted))
        if links:
            await self._p.store.save_links(links)
        planned = await self._p.pushes.plan_many(pushes)
        for push, (arm, counted), record in zip(pushes, told, planned):
            if record is not None:
                marks.append((f"planned:{once}:{push.member_id}", (f"{arm}|planned", *counted)))
            elif counted:
                marks.append((f"coupon:{once}:{push.member_id}", counted))
        await self._p.store.mark_many(campaign_id, marks)

    async def _coupons_for(self, definition, reached: list[tuple[str, str]], facts: list[TextFacts | None],
                           issue_key: str) -> list[dict | None]:
        """Each reached member's coupon values (None: no coupon), issued a template at a time."""
        by_template: dict[str, list[int]] = {}
        for i, ((_, arm), member_facts) in enumerate(zip(reached, facts)):
            template_id = definition.variant(arm).coupon_template
            if template_id == PREFERRED_CATEGORY:
                category = member_facts.preferred_category if member_facts else ""
                template_id = self._p.program.segments.category_coupons.get(category, "")
            if template_id:
                by_template.setdefault(template_id, []).append(i)
        values: list[dict | None] = [None] * len(reached)
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
                    values[i] = coupon_values(coupon.template, coupon.grouped, coupon.last_day)
        return values

    async def _statements_for(self, definition, reached: list[tuple[str, str]]) -> list[str | None]:
        """Each reached member's monthly statement, read only for a variant whose text shows it."""
        shows = {arm: "statement" in definition.variant(arm).text for arm in {arm for _, arm in reached}}
        if not any(shows.values()) or self._p.statements is None:
            return [None] * len(reached)
        return list(await asyncio.gather(*(self.statement(member_id, shows[arm]) for member_id, arm in reached)))

    async def statement(self, member_id: str, shown: bool) -> str | None:
        return await self._p.statements.text(member_id) if shown and self._p.statements is not None else None

    def member_values(self, nickname: str, facts: Facts | TextFacts | None, statement: str | None = None) -> dict:
        tier = self._p.program.tier(facts.tier if facts else "")
        category = facts.preferred_category if facts else ""
        values = {"name": nickname or "亲爱的会员", "tier": tier.code, "tier_name": tier.name,
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


def coupon_values(template, code: str, last_day) -> dict:
    return {"title": template.title, "code": code, "template": template.id,
            "last_day": last_day.isoformat() if last_day else ""}
