"""Segments: which members a campaign reaches (the segment itself is a table of segment_rules.py), previewed
by intersecting the segment indexes the member facts keep (loyalty_core/redis_store/member_facts.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import AsyncIterator, Protocol

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
    async def evaluate(self, clauses: list[Clause], sample: int = 0) -> tuple[int, list[str]]:
        """How many members match, and the first `sample` of them by id."""
    def members_of(self, clauses: list[Clause], batch: int) -> AsyncIterator[list[str]]: ...


class TemplateLookup(Protocol):
    async def template(self, template_id: str): ...


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

    def members(self, segment: Segment, today: date, batch: int = 1000) -> AsyncIterator[list[str]]:
        """Every member of the segment, a batch at a time."""
        return self._store.members_of(segment.clauses(today), batch)
