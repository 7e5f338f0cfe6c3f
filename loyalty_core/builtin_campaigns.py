"""The campaigns the programme sends by itself, made from the program file through CampaignService:

- `member-day-<date>`: the announcement of the next member day, the day before at `member_day.announce_at`, to
  every member (its text's `{{ day }}` is that day, 12月18日); one campaign per member day, so each has its own
  results;
- `monthly-statement-<version>`: the monthly statement (statement.py), a recurring campaign on `statement.day` at
  `statement.at` to the members who take it.
`ensure` makes them idempotently (the `campaigns` job calls it before sending what is due): the same program makes
the same campaigns again, which changes nothing. A program whose member day or statement changed makes new ones,
and the one made before from the old program is cancelled unless it was sent already.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timedelta

import orjson

from . import errors
from .campaigns import CampaignService
from .clock import MALL_TZ
from .member_day import day_zh, member_day_on_or_after
from .program import Program

log = logging.getLogger("loyalty_core.builtin_campaigns")
EVERY_MEMBER: dict = {}


class BuiltinRegistry:
    """name -> the campaign id in force (Protocol of the store)."""
    async def current(self, name: str) -> str | None: ...
    async def replace(self, name: str, campaign_id: str) -> str | None: ...   # the id it replaced


class BuiltinCampaigns:
    def __init__(self, campaigns: CampaignService, registry, program: Program, clock):
        self._campaigns, self._registry, self._program, self._clock = campaigns, registry, program, clock

    async def ensure(self) -> list[str]:
        """The built-in campaigns in force (their ids), made if they were not."""
        today = self._clock.now().astimezone(MALL_TZ).date()
        made = [await self._announcement(today), await self._statement()]
        return [campaign_id for campaign_id in made if campaign_id]

    async def _announcement(self, today: date) -> str | None:
        rules, rule = self._program.member_day, self._program.promotions.member_day
        day = member_day_on_or_after(today + timedelta(days=1), rule) if rule else None
        if not (rules.announce and day):
            return None
        variant = {"name": "announcement", "weight": 1, "text": rules.announce_text.replace("{{ day }}", day_zh(day))}
        if rules.announce_coupon:
            variant["coupon_template"] = rules.announce_coupon
        campaign_id = f"member-day-{day.isoformat()}"
        send_at = datetime.combine(day - timedelta(days=1), rules.announce_at, MALL_TZ)
        await self._launch("member_day", campaign_id, f"会员日预告 {day_zh(day)}", EVERY_MEMBER, [variant],
                           send_at=send_at, mass_send=rules.announce_mass)
        return campaign_id

    async def _statement(self) -> str | None:
        rules = self._program.statement
        if not rules.enabled:
            return None
        variants = [{"name": "statement", "weight": 1, "text": rules.text}]
        repeat = f"{rules.at.minute} {rules.at.hour} {rules.day} * *"
        version = hashlib.sha256(orjson.dumps([variants, repeat])).hexdigest()[:8]
        campaign_id = f"monthly-statement-{version}"
        await self._launch("statement", campaign_id, "月度会员账单", {"takes_statement": True}, variants,
                           repeat=repeat)
        return campaign_id

    async def _launch(self, name: str, campaign_id: str, title: str, segment: dict, variants: list, **how) -> None:
        try:
            await self._campaigns.launch(campaign_id, title, segment, variants, **how)
        except errors.CampaignConflict:        # made before from another text: that one stands for this day
            log.warning("built-in campaign %s: kept as first made (the program's text changed since)", campaign_id)
        replaced = await self._registry.replace(name, campaign_id)
        if replaced and replaced != campaign_id:
            try:
                await self._campaigns.cancel(replaced)
            except (errors.CampaignClosed, errors.UnknownCampaign):
                pass
