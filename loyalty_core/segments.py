"""Segments: which members a campaign reaches (the segment itself is a table of segment_rules.py), previewed
by intersecting the segment indexes the member facts keep (loyalty_core/redis_store/member_facts.py)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from . import errors
from .program import Program, ProgramError, parse_segment_table
from .segment_rules import Clause, Segment, SegmentRules


def parse_segment(raw) -> Segment:
    """The segment of an API body, read as strictly as a table of the program file (InvalidSegment names the key)."""
    if not isinstance(raw, dict):
        raise errors.InvalidSegment("segment: must be an object")
    try:
        return parse_segment_table(raw, "segment")
    except ProgramError as error:
        raise errors.InvalidSegment(str(error)) from None


class SegmentStore(Protocol):
    async def evaluate(self, clauses: list[Clause], sample: int = 0, keep_as: str = "") -> tuple[int, list[str]]:
        """How many members match and the first `sample`; with `keep_as`, the members are kept for `members`."""
    async def members(self, keep_as: str, offset: int, limit: int) -> list[str]: ...
    async def forget(self, keep_as: str) -> None: ...


class TemplateLookup(Protocol):
    async def template(self, template_id: str): ...


class SegmentLost(RuntimeError):
    """The members kept for a send vanished (Redis restarted): the send stops, and is taken up again."""


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[str]


class Segments:
    def __init__(self, store: SegmentStore, program: Program, rules: SegmentRules, templates: TemplateLookup):
        self._store = store
        self._program = program
        self._rules = rules
        self._templates = templates

    async def checked(self, raw) -> Segment:
        """The segment, its tiers and coupon templates known (raises InvalidSegment naming the key)."""
        segment = parse_segment(raw)
        known = {tier.code for tier in self._program.tiers}
        for i, tier in enumerate(segment.tiers or ()):
            if tier not in known:
                raise errors.InvalidSegment(f"segment.tiers[{i}]: unknown tier {tier!r}")
        for key in ("holds_coupon_template", "lacks_coupon_template"):
            template = getattr(segment, key)
            if template:
                try:
                    await self._templates.template(template)
                except errors.UnknownCouponTemplate:
                    raise errors.InvalidSegment(f"segment.{key}: unknown coupon template {template!r}") from None
        return segment

    async def preview(self, segment: Segment, today: date) -> Preview:
        count, sample = await self._store.evaluate(segment.clauses(today), self._rules.sample_size)
        return Preview(count, sample)

    async def members(self, segment: Segment, today: date, batch: int = 1000):
        """Every member of the segment as it is now, a batch at a time (a snapshot: later changes do not count)."""
        token = secrets.token_hex(8)
        count, _ = await self._store.evaluate(segment.clauses(today), keep_as=token)
        try:
            for offset in range(0, count, batch):
                found = await self._store.members(token, offset, batch)
                if not found:
                    raise SegmentLost("the segment's members were lost before all were read")
                yield found
        finally:
            await self._store.forget(token)
