"""Walk-in sales in Redis: each sale in a slot of its own (`{walkin:<token>}`), the day's counts in the day's
slot, one script per change (loyalty_core/walk_in.py has the steps and their crash story)."""
from __future__ import annotations

from datetime import datetime, timedelta

import orjson
from redis.asyncio import Redis

from .. import errors, keys
from ..clock import MALL_TZ, epoch_ms
from .scripts import Scripts


class RedisWalkInStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def record(self, token: str, sale: dict) -> dict:
        result = await self._scripts.run("walk_in_record", [keys.walk_in_sale(token)], [orjson.dumps(sale).decode()])
        return result["sale"] | {"replayed": result["replayed"]}

    async def sale(self, token: str) -> dict | None:
        return await self._redis.hgetall(keys.walk_in_sale(token)) or None

    async def join(self, token: str, member_id: str, now: datetime) -> dict:
        sale = await self.sale(token)
        if sale is None:
            raise errors.UnknownTransaction()
        until = epoch_ms(datetime.fromisoformat(sale["join_until"]))
        result = await self._scripts.run_or_refuse("walk_in_join", [keys.walk_in_sale(token)],
                                                   [member_id, epoch_ms(now), now.isoformat(), until])
        return result["sale"] | {"replayed": result["replayed"]}

    async def mark_credited(self, token: str) -> None:
        await self._redis.hset(keys.walk_in_sale(token), "credited", "1")

    async def save_qr(self, token: str, ticket: str, url: str, expires_ms: int) -> None:
        await self._redis.hset(keys.walk_in_sale(token), mapping={"qr_ticket": ticket, "qr_url": url,
                                                                  "qr_expires_ms": str(expires_ms)})


class RedisSalesCounter:
    """`counted_for`: how long after its day a sale may still be posted or retried (the till's backdating and
    retry window); the day's set of sales counted is kept that long, its counts for good."""

    def __init__(self, redis: Redis, scripts: Scripts, counted_for: timedelta = timedelta(days=400)):
        self._redis = redis
        self._scripts = scripts
        self._counted_for = counted_for

    async def count(self, day: str, store_id: str, kind: str, txn_id: str, fen: int) -> None:
        day_ends = datetime.strptime(day, "%Y%m%d").replace(tzinfo=MALL_TZ) + timedelta(days=1)
        await self._scripts.run("sales_count", [keys.sales_day(day), keys.sales_day_counted(day)],
                                [store_id, kind, txn_id, fen, int((day_ends + self._counted_for).timestamp())])

    async def day(self, day: str) -> dict[str, int]:
        return {field: int(value) for field, value in (await self._redis.hgetall(keys.sales_day(day))).items()}
