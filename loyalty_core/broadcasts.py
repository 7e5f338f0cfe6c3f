"""Manager broadcasts: a community's manager writes to its members from their own WeChat.

`广播 <community> <text>` (or `广播 <community> 券 <template> <text>`, with a community-exclusive coupon) asks
the delivery planner what would become of the message for each member now, without recording anything
(`PushService.preview`: the same planner on the same facts as the real send), and offers the manager that plan
to confirm. 确认 records it and answers at once: the manager's daily allowance is taken once per broadcast
and the broadcast's domain event (broadcast_confirmed) is written with it (one script in the manager's slot).
The fan-out runs off the reply path, in the broadcast consumer of `serve` (`deliver`): the coupons are issued
once per member and broadcast, and each member gets one marketing push of the topic `broadcast:<id>`, which the
push side delivers once (customer-service message while the member's window is open, else a mass send while
their monthly four last, else the pending inbox). A consumer that died mid-way leaves its event pending; the
next one delivers it again, and nobody gets the broadcast twice (the pushes' dedup key, the coupons' issue key).
A repeat of 确认 reaches the same broadcast and sends nothing twice. Each step is written to the audit log; the
mass-send job reports (MASSSENDJOBFINISH) are recorded against the broadcast, and `history` shows the manager
how each went (广播记录).
"""
from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Awaitable, Callable, Iterable, Protocol

from . import errors
from .broadcast_rules import BroadcastRules
from .clock import MALL_TZ, Clock
from .communities import Community, CommunityService, pick
from .push.model import CUSTOM_TEXT_MAX_CHARS, PENDING_INBOX, QUEUED, Content, Decision, Push

BROADCAST_KIND = "broadcast"
BROADCASTS_GROUP = "broadcasts"  # the consumer group that sends confirmed broadcasts
CONFIRMED_EVENT = "broadcast_confirmed"
HISTORY = 5                      # broadcasts 广播记录 shows
COMMUNITY_HISTORY = 20           # a community's broadcasts the console shows
CHUNK = 100                      # members planned (or previewed) at once
COUPON_WORD = "券"


@dataclass(frozen=True)
class Audience:
    """What the planner decided for each member of the community."""
    members: int = 0
    custom: int = 0              # reachable now by customer-service message
    mass: int = 0                # only by mass send, which uses 1 of their monthly mass messages
    none_left: int = 0           # no window and no mass message left this month: waits for their next message
    later: int = 0               # quiet hours or a frequency cap: later
    unreachable: int = 0         # no longer following, or reached by this broadcast already

    @classmethod
    def of(cls, decisions: Iterable[Decision]) -> "Audience":
        counts, members = Counter(), 0
        for decision in decisions:
            members += 1
            if decision.status == QUEUED or decision.status in ("sent", "in_flight"):
                counts["mass" if decision.channel == "mass" else "custom"] += 1
            elif decision.status == PENDING_INBOX:
                counts["none_left"] += 1
            elif decision.status == "deferred":
                counts["later"] += 1
            else:
                counts["unreachable"] += 1
        return cls(members=members, **counts)

    def to_dict(self) -> dict:
        return {"members": self.members, "custom": self.custom, "mass": self.mass, "none_left": self.none_left,
                "later": self.later, "unreachable": self.unreachable}


@dataclass(frozen=True)
class Draft:
    broadcast_id: str
    community: Community
    text: str
    coupon_template: str | None
    coupon_title: str | None
    audience: Audience
    mass_per_month: int


@dataclass(frozen=True)
class Sent:
    broadcast_id: str
    community_name: str
    audience: Audience


@dataclass(frozen=True)
class Confirmed:
    broadcast_id: str
    community_name: str
    members: int                 # the community's members when it was confirmed
    first: bool                  # False: confirmed before (a repeat of 确认)


@dataclass(frozen=True)
class MassReport:
    """What the platform reported of the broadcast's mass sends (MASSSENDJOBFINISH), summed over its batches."""
    batches: int = 0
    total: int = 0
    filtered: int = 0            # left after the platform's filter (each member's four a month)
    sent: int = 0
    errors: int = 0


@dataclass(frozen=True)
class Report:
    """How a broadcast went, for its manager (广播记录)."""
    broadcast_id: str
    community_name: str
    text: str
    confirmed_at: datetime
    done: bool                   # planned for every member (else still being sent)
    members: int
    planned: Audience | None     # what the planner decided for each member, once done
    outcomes: dict[str, int]     # pushes of the broadcast by outcome so far (sent, pending_inbox, failed…)
    mass: MassReport

    @property
    def delivered(self) -> int:
        return self.outcomes.get("sent", 0)

    def to_dict(self) -> dict:
        return {"broadcast_id": self.broadcast_id, "community": self.community_name, "text": self.text,
                "confirmed_at": self.confirmed_at.isoformat(), "status": "sent" if self.done else "sending",
                "members": self.members, "planned": self.planned.to_dict() if self.planned else None,
                "pushes": self.outcomes, "mass_reports": asdict(self.mass)}


class BroadcastStore(Protocol):
    async def sent_today(self, manager_id: str, day: str) -> int: ...
    async def claim(self, manager_id: str, broadcast_id: str, day: str, limit: int, now: datetime,
                    facts: dict) -> bool:
        """Count the broadcast against the manager's day and write its broadcast_confirmed event with `facts`,
        once (True: now, False: before); BroadcastLimit when the day's are used."""
    async def latest(self, manager_id: str, count: int) -> list[str]: ...
    async def file_in_community(self, community_id: str, broadcast_id: str, confirmed_at: datetime) -> None:
        """The broadcast in its community's list (again: no change)."""
    async def in_community(self, community_id: str, count: int) -> list[str]: ...
    async def get(self, broadcast_id: str) -> dict: ...
    async def reports(self, broadcast_id: str) -> list[dict]: ...
    async def record(self, broadcast_id: str, fields: dict) -> bool:
        """The broadcast's facts, once (a repeat keeps the first, and is False)."""
    async def finish(self, broadcast_id: str, audience: Audience, at: datetime) -> None: ...
    async def audit(self, broadcast_id: str, action: str, manager_id: str, at: datetime, **details) -> None: ...


class Pushes(Protocol):
    async def preview(self, push: Push) -> Decision: ...
    async def plan(self, push: Push): ...                         # -> PushRecord
    @property
    def policy(self): ...


class Coupons(Protocol):
    async def template(self, template_id: str): ...               # -> CouponTemplate
    async def issue(self, member_id: str, template_id: str, issue_key: str, *, source: str = ""): ...


class TopicCounts(Protocol):
    async def __call__(self, topic: str) -> dict[tuple[str, str], int]: ...       # (channel, outcome) -> n


class Offers(Protocol):
    async def offer(self, member_id: str, kind: str, payload: dict, summary: str): ...


class BroadcastService:
    def __init__(self, store: BroadcastStore, communities: CommunityService, pushes: Pushes, coupons: Coupons,
                 offers: Offers, topic_counts: TopicCounts, rules: BroadcastRules, clock: Clock):
        self._store = store
        self._topic_counts = topic_counts
        self._communities = communities
        self._pushes = pushes
        self._coupons = coupons
        self._offers = offers
        self.rules = rules
        self._clock = clock

    async def prepare(self, manager_id: str, manager_openid: str, words: str) -> Draft:
        """The plan of a broadcast typed in chat (`<community> [券 <template>] <text>`), offered to confirm."""
        community, template_id, text = split_broadcast(await self._communities.listing(), words)
        return await self.draft(manager_id, manager_openid, community, template_id, text)

    async def draft(self, manager_id: str, manager_openid: str, community: Community, template_id: str | None,
                    text: str) -> Draft:
        """The plan of a broadcast, offered to the manager to confirm (nothing is sent)."""
        await self._check_manager(community, manager_openid)
        if await self._store.sent_today(manager_id, self._day()) >= self.rules.per_manager_per_day:
            raise errors.BroadcastLimit(limit=self.rules.per_manager_per_day)
        coupon_title = (await self._coupons.template(template_id)).title if template_id else None
        text = self._checked_text(text, coupon_title)
        broadcast_id = f"b{secrets.token_hex(6)}"
        content = self._content(text, coupon_title)
        decisions = await self._each_member(community, lambda member_id: self._pushes.preview(
            self._push(broadcast_id, member_id, content)))
        draft = Draft(broadcast_id, community, text, template_id, coupon_title, Audience.of(decisions),
                      self._pushes.policy.mass_per_month)
        await self._offers.offer(manager_id, BROADCAST_KIND, {
            "broadcast_id": broadcast_id, "community_id": community.community_id, "text": text,
            "coupon_template": template_id}, f"向「{community.name}」广播")
        await self._store.audit(broadcast_id, "previewed", manager_id, self._clock.now(),
                                community_id=community.community_id, **draft.audience.to_dict())
        return draft

    async def confirm(self, manager_id: str, manager_openid: str, payload: dict) -> Confirmed:
        """确认: the broadcast recorded once, however often it is confirmed; the broadcast consumer sends it."""
        broadcast_id = payload["broadcast_id"]
        community = await self._communities.community(payload["community_id"])
        await self._check_manager(community, manager_openid)
        now = self._clock.now()
        facts = {"broadcast_id": broadcast_id, "community_id": community.community_id, "manager_id": manager_id,
                 "text": payload["text"], "coupon_template": payload.get("coupon_template") or "",
                 "confirmed_at": now.isoformat(),
                 "members": (await self._communities.view(community.community_id)).members}
        first = await self._store.claim(manager_id, broadcast_id, self._day(), self.rules.per_manager_per_day, now,
                                        facts)
        await self._store.record(broadcast_id, facts | {"status": "confirmed"})
        await self._store.file_in_community(community.community_id, broadcast_id, now)
        await self._store.audit(broadcast_id, "confirmed" if first else "confirmed_again", manager_id, now,
                                community_id=community.community_id)
        return Confirmed(broadcast_id, community.name, int(facts["members"]), first)

    async def on_confirmed(self, event: dict) -> None:
        """The broadcast consumer's handler of broadcast_confirmed."""
        await self.deliver(event["data"])

    async def deliver(self, facts: dict) -> Sent | None:
        """The fan-out of a confirmed broadcast to the community's members; again after a crash, it reaches
        those it had not reached, and nobody twice. None when it was delivered before."""
        broadcast_id, template_id = facts["broadcast_id"], facts.get("coupon_template") or None
        await self._store.record(broadcast_id, facts | {"status": "confirmed"})   # cut short between claim and record
        await self._store.file_in_community(facts["community_id"], broadcast_id,
                                            datetime.fromisoformat(facts["confirmed_at"]))
        if (await self._store.get(broadcast_id)).get("status") == "sent":
            return None
        community = await self._communities.community(facts["community_id"])
        coupon_title = (await self._coupons.template(template_id)).title if template_id else None
        content = self._content(facts["text"], coupon_title)

        async def deliver(member_id: str) -> Decision:
            if template_id:
                await self._coupons.issue(member_id, template_id, f"broadcast:{broadcast_id}", source="broadcast")
            record = await self._pushes.plan(self._push(broadcast_id, member_id, content))
            return Decision(record.status, channel=record.channel or None, reason=record.reason)

        audience = Audience.of(await self._each_member(community, deliver))
        await self._store.finish(broadcast_id, audience, self._clock.now())
        await self._store.audit(broadcast_id, "sent", facts["manager_id"], self._clock.now(), **audience.to_dict())
        return Sent(broadcast_id, community.name, audience)

    async def facts_of(self, broadcast_id: str) -> dict:
        """What a confirmed broadcast sends (its broadcast_confirmed event's data), as recorded."""
        return await self._store.get(broadcast_id)

    async def history(self, manager_id: str) -> list[Report]:
        """The manager's latest broadcasts, newest first, and how each went."""
        reports = [await self.report(broadcast_id) for broadcast_id in await self._store.latest(manager_id, HISTORY)]
        return [report for report in reports if report is not None]

    async def sent_today(self, manager_id: str) -> int:
        """The manager's broadcasts confirmed today, of `rules.per_manager_per_day`."""
        return await self._store.sent_today(manager_id, self._day())

    async def of_community(self, community_id: str, count: int = COMMUNITY_HISTORY) -> list[Report]:
        """The community's latest broadcasts, newest first, and how each went (for staff)."""
        reports = [await self.report(broadcast_id)
                   for broadcast_id in await self._store.in_community(community_id, count)]
        return [report for report in reports if report is not None]

    async def staff_report(self, broadcast_id: str) -> Report:
        """How the broadcast went, for staff (the admin API); UnknownBroadcast."""
        report = await self.report(broadcast_id) if isinstance(broadcast_id, str) and \
            broadcast_id.isascii() and broadcast_id.isalnum() and len(broadcast_id) <= 32 else None
        if report is None:
            raise errors.UnknownBroadcast()
        return report

    async def report(self, broadcast_id: str) -> Report | None:
        """None for a broadcast not recorded (a crash right after its claim: the consumer records it)."""
        info = await self._store.get(broadcast_id)
        if not info:
            return None
        done = info.get("status") == "sent"
        planned = Audience(**{name: int(info.get(f"planned_{name}", 0)) for name in Audience().to_dict()}) \
            if done else None
        outcomes: dict[str, int] = {}
        for (_, outcome), n in (await self._topic_counts(f"broadcast:{broadcast_id}")).items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
        reports = await self._store.reports(broadcast_id)
        mass = MassReport(len(reports), *(sum(int(r.get(k, 0)) for r in reports)
                                          for k in ("total", "filtered", "sent", "errors")))
        community = await self._communities.community(info["community_id"])
        return Report(broadcast_id, community.name, info.get("text", ""),
                      datetime.fromisoformat(info["confirmed_at"]), done, int(info.get("members", 0)), planned,
                      outcomes, mass)

    async def _each_member(self, community: Community, step: Callable[[str], Awaitable[Decision]]) -> list[Decision]:
        """The step for every member of the community, a chunk at a time (concurrent steps share round trips)."""
        decisions, chunk = [], []
        async for member_id in self._communities.members(community.community_id):
            chunk.append(member_id)
            if len(chunk) == CHUNK:
                decisions += await asyncio.gather(*(step(m) for m in chunk))
                chunk = []
        return decisions + list(await asyncio.gather(*(step(m) for m in chunk)))

    async def _check_manager(self, community: Community, openid: str) -> None:
        if not await self._communities.is_manager(community.community_id, openid):
            raise errors.NotAManager(community=community.name)

    def _checked_text(self, text: str, coupon_title: str | None) -> str:
        text = text.strip()
        if not text:
            raise errors.EmptyBroadcast()
        if len(self._full_text(text, coupon_title)) > min(self.rules.max_chars, CUSTOM_TEXT_MAX_CHARS):
            raise errors.BroadcastTooLong(limit=self.rules.max_chars)
        return text

    def _full_text(self, text: str, coupon_title: str | None) -> str:
        return f"{text}\n\n{self.rules.coupon_line.replace('{title}', coupon_title)}" if coupon_title else text

    def _content(self, text: str, coupon_title: str | None) -> Content:
        full = self._full_text(text, coupon_title)
        return Content.text(full, mass={"msgtype": "text", "text": {"content": full}})

    def _push(self, broadcast_id: str, member_id: str, content: Content) -> Push:
        return Push(push_id="", member_id=member_id, kind="marketing", topic=f"broadcast:{broadcast_id}",
                    not_after=self._clock.now() + self.rules.valid, content=content, urgency="today",
                    dedup_key=f"broadcast:{broadcast_id}")

    def _day(self) -> str:
        return self._clock.now().astimezone(MALL_TZ).strftime("%Y%m%d")


def split_broadcast(communities: list[Community], words: str) -> tuple[Community, str | None, str]:
    """`瑜伽社 本周六…` or `1 券 yoga-20 本周六…`: the community (its number or its name, which may hold spaces),
    the coupon template if any, and the text."""
    words = words.strip()
    for community in sorted(communities, key=lambda c: -len(c.name)):
        for name in (community.name, str(community.number)):
            if words.casefold().startswith(name.casefold() + " "):
                rest = words[len(name):].strip()
                head, _, tail = rest.partition(" ")
                if head == COUPON_WORD:
                    template_id, _, text = tail.strip().partition(" ")
                    return community, template_id, text
                return community, None, rest
    head = words.partition(" ")[0]
    return pick(communities, head), None, ""
