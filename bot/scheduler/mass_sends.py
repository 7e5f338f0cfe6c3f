"""The mass pushes of one sender process, grouped into batches by topic and content: up to 10,000 members of one
topic and content go out in one mass send (with its clientmsgid), sent when full or when no more came for the
sender's `mass_linger` seconds; a batch in doubt is sent again, which the platform does not repeat."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from loyalty_core.push.model import PushRecord
from loyalty_core.push.service import Begun, Outcome, PushService
from loyalty_core.redis_store.mass_batches import MassBatch, RedisMassBatches
from loyalty_core.redis_store.push_queue import Entry

from ..wechat_api import MASS_OPENIDS_MAX, PermanentError

if TYPE_CHECKING:
    from .sender import Sender


class MassSends:
    """Mass pushes of one sender, grouped into batches by topic and content."""

    def __init__(self, sender: Sender, pushes: PushService, batches: RedisMassBatches):
        self._sender = sender
        self._pushes = pushes
        self._batches = batches
        self._groups: dict[tuple[str, bytes], Group] = {}
        self._resends: dict[str, list[tuple[Entry, PushRecord]]] = {}

    def add(self, entry: Entry, begun: Begun) -> None:
        record = begun.record
        if begun.action == "mass_resend":
            self._resends.setdefault(record.batch, []).append((entry, record))
            return
        content = orjson.dumps(record.push.content.mass, option=orjson.OPT_SORT_KEYS)
        key = (record.push.topic, hashlib.sha1(content).digest())
        group = self._groups.setdefault(key, Group(record.push.topic, record.push.content.mass))
        group.add(entry, record)

    async def send_all(self) -> None:
        await self._send(list(self._groups))

    async def send_lingering(self) -> None:
        linger = self._sender.config.mass_linger
        await self._send([key for key, group in self._groups.items() if group.quiet_for() >= linger
                          or len(group.members) >= MASS_OPENIDS_MAX])

    async def _send(self, group_keys: list) -> None:
        for key in group_keys:
            group = self._groups.pop(key)
            for start in range(0, len(group.members), MASS_OPENIDS_MAX):
                await self._send_new(group, group.members[start:start + MASS_OPENIDS_MAX])
        resends, self._resends = self._resends, {}
        for batch_id, members in resends.items():
            await self._resend(batch_id, members)

    async def _send_new(self, group: "Group", members: list[tuple[Entry, PushRecord]]) -> None:
        pushes, sender = self._pushes, self._sender
        batch = await self._batches.new_batch(group.topic, group.content)
        included = []
        for entry, record in members:
            begun = await pushes.include_in_batch(record, batch.batch_id)
            if begun.action == "included":
                included.append((entry, record, begun.openid))
            else:
                sender.acknowledge(entry)
        if len(included) < 2:    # the platform's openid list takes 2 at least: these wait for a window instead
            for entry, record, _ in included:
                await pushes.finish(record, Outcome("planned", "a mass batch of one", refund_mass=True),
                                    closed=frozenset({"mass"}))
                sender.acknowledge(entry)
            return
        batch = await self._batches.set_members(batch, [(r.member_id, r.push_id, openid) for _, r, openid in included])
        await self._conclude(batch, [(entry, record) for entry, record, _ in included])

    async def _resend(self, batch_id: str, members: list[tuple[Entry, PushRecord]]) -> None:
        batch = await self._batches.batch(batch_id)
        if batch is None or not batch.members:     # the batch never got its members: nothing went out
            for entry, record in members:
                await self._pushes.finish(record, Outcome("planned", "mass batch lost", refund_mass=True))
                self._sender.acknowledge(entry)
            return
        await self._conclude(batch, members)

    async def _conclude(self, batch: MassBatch, members: list[tuple[Entry, PushRecord]]) -> None:
        pushes, sender = self._pushes, self._sender
        try:
            msg_id = batch.msg_id or await sender.send_batch(batch)
        except PermanentError as error:
            for entry, record in members:
                await pushes.finish(record, Outcome("failed", f"errcode {error.errcode}", refund_mass=True))
                sender.acknowledge(entry)
            return
        if not msg_id:
            return                                  # left pending: reclaimed and sent again with its clientmsgid
        if not batch.msg_id:
            await self._batches.sent(batch, int(msg_id))
        for entry, record in members:
            await pushes.finish(record, Outcome("sent", f"mass msg_id {msg_id}"))
            sender.stats["sent"] += 1
            sender.acknowledge(entry)


@dataclass
class Group:
    topic: str
    content: dict
    members: list[tuple[Entry, PushRecord]] = field(default_factory=list)
    last_added: float = 0.0
    _entry_ids: set[tuple[int, str]] = field(default_factory=set)

    def add(self, entry: Entry, record: PushRecord) -> None:
        """Once per entry: one that waited here long enough to be reclaimed (by this process) comes back. An entry
        is its partition's: two partitions' streams give the same id to entries added in the same millisecond."""
        if (entry.partition, entry.entry_id) not in self._entry_ids:
            self._entry_ids.add((entry.partition, entry.entry_id))
            self.members.append((entry, record))
            self.last_added = time.monotonic()

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_added
