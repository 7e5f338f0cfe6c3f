"""Pending choices in Redis: one JSON string per member, replaced by each new offer."""
from __future__ import annotations

from datetime import timedelta

import orjson
from redis.asyncio import Redis

from .. import keys
from ..pending import Cancellation, PendingChoice
from .scripts import Scripts


class RedisPendingStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def put(self, member_id: str, choice: dict, keep: timedelta) -> None:
        await self._redis.set(keys.member_pending_choice(member_id), orjson.dumps(choice),
                              ex=int(keep.total_seconds()))

    async def get(self, member_id: str) -> dict | None:
        raw = await self._redis.get(keys.member_pending_choice(member_id))
        return None if raw is None else orjson.loads(raw)

    async def claim(self, member_id: str, choice_id: str) -> bool:
        result = await self._scripts.run("pending_claim", [keys.member_pending_choice(member_id)], [choice_id])
        return result["ok"]

    async def cancel(self, member_id: str) -> Cancellation:
        result = await self._scripts.run("pending_cancel", [keys.member_pending_choice(member_id)])
        choice = PendingChoice.from_dict(orjson.loads(result["choice"])) if "choice" in result else None
        if result["ok"]:
            return Cancellation("cancelled", choice)
        return Cancellation("claimed", choice) if result["error"] == "claimed" else Cancellation("none")

    async def settle(self, member_id: str, choice_id: str) -> bool:
        result = await self._scripts.run("pending_settle", [keys.member_pending_choice(member_id)], [choice_id])
        return result["ok"]

    async def drop(self, member_id: str, choice_id: str) -> bool:
        result = await self._scripts.run("pending_drop", [keys.member_pending_choice(member_id)], [choice_id])
        return result["ok"]
