"""Notices to members: a kind of the program's `[notices]` (loyalty_core/notices.py) made into a push with
content for each channel the kind configures, and handed to the push service, once per (kind, ref).

The texts are jinja2 templates written by operators, rendered in a sandbox with the kind's values; a keyword
field longer than WeChat shows (20 characters, one line) is cut with "…". `check_notice_texts` refuses, at
start, a program whose notice texts do not compile, naming the key.

Who notifies: the consumer of the ledger's events (`NoticeEvents`, consumer group NOTICES_GROUP) for what a
purchase, refund, review or warning did; the scheduler's jobs and the referral rewards for the rest. A notice
whose moment is older than its `valid_hours` is not sent (a consumer group created on a stream of old events
sends nothing stale).
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from loyalty_core.clock import Clock
from loyalty_core.notices import NoticeKind, notice_kind
from loyalty_core.program import Program, ProgramError
from loyalty_core.push.model import NOTICE_FIELD_MAX_CHARS, Content, Notice, Push, PushRecord
from loyalty_core.push.service import PushService

from .templating import date_zh, moment_zh, money

log = logging.getLogger("bot.notices")

NOTICES_GROUP = "notices"
_SANDBOX = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
MEMBER_NAME = "亲爱的会员"


def check_notice_texts(program: Program) -> None:
    """Every text and keyword field of the program's notices compiles (raises ProgramError naming the key)."""
    problems = []
    for kind, table in program.notices.items():
        for key, text in _texts(table):
            try:
                _SANDBOX.from_string(text)
            except TemplateSyntaxError as error:
                problems.append((f"notices.{kind}.{key}", f"not a valid template: {error.message}"))
    if problems:
        raise ProgramError(problems[0][0], problems[0][1], *problems[1:])


def _texts(table: NoticeKind):
    yield "text", table.text
    for group in ("fields", "subscribe_fields"):
        for name, text in getattr(table, group).items():
            yield f"{group}.{name}", text


def moment_words(moment: datetime) -> str:
    return moment_zh(moment)


def fit(value: str) -> str:
    """A keyword field's value as WeChat shows it: one line, at most 20 characters (cut with …)."""
    line = " ".join(value.split())
    if len(line) > NOTICE_FIELD_MAX_CHARS:
        line = line[:NOTICE_FIELD_MAX_CHARS - 1] + "…"
    return line or "—"


def words(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as a member reads them: dates and moments in Chinese, amounts as on a receipt."""
    shown = {}
    for name, value in values.items():
        if isinstance(value, datetime):
            shown[name] = moment_words(value)
        elif isinstance(value, date):
            shown[name] = date_zh(value)
        elif isinstance(value, Decimal):
            shown[name] = money(value)
        else:
            shown[name] = value
    return shown


class Notices:
    def __init__(self, program: Program, pushes: PushService, members, clock: Clock):
        check_notice_texts(program)
        self._program = program
        self._pushes = pushes
        self._members = members
        self._clock = clock

    def content(self, table: NoticeKind, values: Mapping[str, Any]) -> Content:
        """The push's content per channel, as the kind's table configures them."""
        shown = words(values)
        text = _SANDBOX.from_string(table.text).render(**shown).strip()
        fields = lambda group: {name: fit(_SANDBOX.from_string(t).render(**shown))  # noqa: E731
                                for name, t in group.items()}
        template = Notice(table.template, fields(table.fields), table.url) \
            if table.template and table.kind == "service" else None
        subscribe = Notice(table.subscribe, fields(table.subscribe_fields), table.url) if table.subscribe else None
        mass = {"msgtype": "text", "text": {"content": text}} if table.mass else None
        return Content.text(text, template=template, subscribe=subscribe, mass=mass)

    def text_of(self, kind: str, values: Mapping[str, Any]) -> tuple[str, bool] | None:
        """The kind's customer-service text for these values, and whether the kind may go as a mass send (for
        a text another feature sends, such as an event's invitations as a campaign); None when the kind is off."""
        table = notice_kind(self._program.notices, kind)
        if table is None:
            return None
        return _SANDBOX.from_string(table.text).render(**words(values)).strip(), table.mass

    async def notify(self, member_id: str, kind: str, values: Mapping[str, Any], ref: str,
                     at: datetime | None = None, topic: str | None = None) -> PushRecord | None:
        """Tell the member, once per (kind, ref); `at`: when it happened (default now); `topic`: where the push
        side counts it (default the kind). None when the kind is off or the notice is too old to send."""
        table = notice_kind(self._program.notices, kind)
        if table is None:
            return None
        now = self._clock.now()
        not_after = (at or now) + table.valid
        if not_after <= now:
            return None
        values = {"at": at or now, "name": await self.name_of(member_id), **values}
        push = Push(push_id="", member_id=member_id, kind=table.kind, topic=topic or kind, not_after=not_after,
                    content=self.content(table, values), urgency=table.urgency, dedup_key=f"{kind}:{ref}")
        return await self._pushes.plan(push)

    async def name_of(self, member_id: str) -> str:
        try:
            member = await self._members.get(member_id)
        except Exception:  # noqa: BLE001 - an unknown member: the push service refuses it next
            return MEMBER_NAME
        return member.nickname or MEMBER_NAME


class NoticeEvents:
    """The consumer of the ledger's events that tells members what a purchase, refund, review or warning did."""

    def __init__(self, notices: Notices, program: Program):
        self.notices = notices
        self.program = program

    def handlers(self) -> dict:
        return {"points_earned": self.points_earned, "purchase_refunded": self.purchase_refunded,
                "tier_upgraded": self.tier_upgraded, "tier_reviewed": self.tier_reviewed,
                "tier_downgraded": self.tier_reviewed, "tier_reverted": self.tier_reverted,
                "points_expiring_soon": self.points_expiring, "points_spent": self.points_spent,
                "points_restored": self.points_restored}

    def _tier(self, code: str) -> str:
        return self.program.tier(code).name

    async def _notify(self, event: dict, kind: str, values: dict, ref: str) -> None:
        await self.notices.notify(event["member_id"], kind, values, ref, datetime.fromisoformat(event["occurred_at"]))

    async def points_earned(self, event: dict) -> None:
        data = event["data"]
        if data["points"] > 0:
            await self._notify(event, "points_earned", {"points": data["points"], "balance": data["balance"],
                                                        "amount": Decimal(data["amount"])}, data["txn_id"])

    async def purchase_refunded(self, event: dict) -> None:
        data = event["data"]
        if data["points_reversed"] > 0:
            await self._notify(event, "points_reversed", {"points": data["points_reversed"],
                                                          "balance": data["balance"], "debt": data["debt"]},
                               data["refund_id"])

    async def tier_upgraded(self, event: dict) -> None:
        data = event["data"]
        await self._notify(event, "tier_upgraded", {"tier": self._tier(data["to"]), "from_tier": self._tier(data["from"]),
                                                    "reward_points": data["reward_points"]}, data["txn_id"])

    async def tier_reviewed(self, event: dict) -> None:
        data = event["data"]
        kept = event["type"] == "tier_reviewed"
        tier, before = (data["tier"], data["tier"]) if kept else (data["to"], data["from"])
        await self._notify(event, "tier_reviewed", {"tier": self._tier(tier), "from_tier": self._tier(before),
                                                    "kept": kept}, event["event_id"])

    async def tier_reverted(self, event: dict) -> None:
        data = event["data"]
        await self._notify(event, "tier_reverted", {"tier": self._tier(data["to"]), "from_tier": self._tier(data["from"]),
                                                    "reward_points_taken": data["reward_points_taken"]},
                           data["refund_id"])

    async def points_expiring(self, event: dict) -> None:
        data = event["data"]
        await self._notify(event, "points_expiring", {"points": data["points"], "balance": data["balance"],
                                                      "expires_on": date.fromisoformat(data["expires_on"]),
                                                      "days": data["days"]}, event["event_id"])

    async def points_spent(self, event: dict) -> None:
        """Points paid at a till (a catalogue redemption is answered in the chat that made it)."""
        data = event["data"]
        if data.get("channel") == "till":
            await self._notify(event, "points_spent", {"points": data["points"], "balance": data["balance"],
                                                       "cash_value": Decimal(data["cash_value"])},
                               data["redemption_id"])

    async def points_restored(self, event: dict) -> None:
        data = event["data"]
        if data.get("channel") == "till":
            await self._notify(event, "points_restored", {"points": data["points"], "balance": data["balance"]},
                               data["redemption_id"])
