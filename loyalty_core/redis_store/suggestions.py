"""Members' suggestions for staff in Redis: a capped stream in its own slot, each message kept once; the staff's
marks of feedback handled beside it."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..service_desk import Handled, Suggestion
from .scripts import Scripts

KEEP = 100_000
OP_TTL_SECONDS = 7 * 86400


class RedisSuggestionStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def add(self, suggestion: Suggestion, op_key: str) -> bool:
        result = await self._scripts.run("suggestion_add", [keys.SUGGESTIONS, keys.suggestion_op(op_key)], [
            suggestion.member_id, suggestion.text, suggestion.at.isoformat(), KEEP, OP_TTL_SECONDS])
        return not result["replayed"]

    async def latest(self, count: int) -> list[Suggestion]:
        return [Suggestion(fields["member_id"], fields["text"], datetime.fromisoformat(fields["at"]), entry_id)
                for entry_id, fields in await self._redis.xrevrange(keys.SUGGESTIONS, count=count)]

    async def mark_handled(self, handled: Handled) -> Handled:
        mark = {"by": handled.by, "at": handled.at, "reason": handled.reason}
        result = await self._scripts.run("feedback_handled", [keys.FEEDBACK_HANDLED],
                                         [handled.ref, orjson.dumps(mark).decode()])
        return Handled(handled.ref, **result["mark"], first=not result["replayed"])

    async def handled(self, refs: list[str]) -> dict[str, Handled]:
        marks = await self._redis.hmget(keys.FEEDBACK_HANDLED, refs)
        return {ref: Handled(ref, **orjson.loads(raw), first=False) for ref, raw in zip(refs, marks) if raw}
