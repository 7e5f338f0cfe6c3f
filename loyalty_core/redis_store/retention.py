"""Retention in Redis: a member's points history, old purchases and ended coupons forgotten in the member's slot
(one script each, idempotent), and the streams trimmed below the oldest entry any consumer group still needs."""
from __future__ import annotations

import orjson
from redis.asyncio import Redis

from .. import keys
from .scripts import Scripts

HISTORY_TAIL_PAGE = 50


def _stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RedisRetentionStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def oldest_history(self, member_id: str, count: int = HISTORY_TAIL_PAGE) -> list[dict]:
        """The member's oldest history entries, oldest first."""
        raw = await self._redis.lrange(keys.points_history(member_id), -count, -1)
        return [orjson.loads(entry) for entry in reversed(raw)]

    async def forget_history_through(self, member_id: str, seq: int) -> int:
        result = await self._scripts.run("history_forget", [keys.points_history(member_id)], [seq])
        return result["forgotten"]

    async def forget_purchases_before(self, member_id: str, cutoff_day: int) -> int:
        result = await self._scripts.run(
            "purchases_forget", [keys.member_purchases(member_id), keys.points_account(member_id)], [cutoff_day])
        return result["forgotten"]

    async def coupons(self, member_id: str) -> dict[str, dict]:
        raw = await self._redis.hgetall(keys.member_coupons(member_id))
        return {code: orjson.loads(coupon) for code, coupon in raw.items()}

    async def forget_coupons(self, member_id: str, codes: list[str], cutoff_ms: int) -> list[str]:
        """Forgets those of `codes` that ended before the cutoff, then releases their code index entries (a
        crash in between leaves an index entry naming a coupon the member no longer has: unknown, as before)."""
        result = await self._scripts.run("coupons_forget", [keys.member_coupons(member_id)], [cutoff_ms, *codes])
        for code in result["forgotten"]:
            await self._scripts.run("index_release", [keys.coupon_index(code)], [member_id])
        return result["forgotten"]

    async def trim_stream(self, stream: str) -> int:
        """Removes the entries every consumer group of the stream has read and acknowledged: those older than
        the oldest entry still pending in a group and than the last entry a group has read. A stream without a
        group is left alone (its entries wait for one)."""
        if not await self._redis.exists(stream):
            return 0
        groups = await self._redis.xinfo_groups(stream)
        if not groups:
            return 0
        needed = [group["last-delivered-id"] for group in groups]
        for group in groups:
            if group["pending"]:
                needed.append((await self._redis.xpending(stream, group["name"]))["min"])
        oldest = min(needed, key=_stream_id)
        return await self._redis.xtrim(stream, minid=oldest, approximate=False)
