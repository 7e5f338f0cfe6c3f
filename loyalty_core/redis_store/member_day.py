"""The member-day lottery's draws and stock, one slot per member day (loyalty_core/member_day.py)."""
from __future__ import annotations

from datetime import date

import orjson
from redis.asyncio import Redis

from .. import keys
from .scripts import Scripts

KEEP_SECONDS = 400 * 86_400           # a year and a bit: last year's member days stay answerable


class RedisLotteryStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def draw(self, day: date, member_id: str, prizes: list[dict], ticket: int) -> tuple[int, bool]:
        result = await self._scripts.run(
            "member_day_draw", [keys.member_day_draws(day), keys.member_day_stock(day)],
            [member_id, orjson.dumps(prizes).decode(), ticket, KEEP_SECONDS])
        return int(result["index"]), bool(result["first"])

    async def stock_used(self, day: date) -> dict[int, int]:
        raw = await self._redis.hgetall(keys.member_day_stock(day))
        return {int(index): int(n) for index, n in raw.items()}
