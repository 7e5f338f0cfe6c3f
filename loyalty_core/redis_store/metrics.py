"""The headline metrics' reads (the segment indexes, the campaigns' counts) and their daily history."""
from __future__ import annotations

from datetime import date

import orjson
from redis.asyncio import Redis

from .. import keys
from ..campaign_rules import HOLDOUT
from ..segment_rules import Clause, Segment
from .member_facts import RedisFactsStore
from .scripts import Scripts

MARKS_KEPT_SECONDS = 30 * 86_400       # an event redelivered within a month of its day is not counted twice


class RedisMetricsStore:
    def __init__(self, redis: Redis, facts: RedisFactsStore, scripts: Scripts):
        self._redis = redis
        self._facts = facts
        self._scripts = scripts

    async def count(self, segment: Segment, today: date) -> int:
        return (await self._facts.evaluate(segment.clauses(today)))[0]

    async def following(self) -> int:
        return await self._facts.following()

    async def phone_bound(self) -> int:
        """Members who follow and have bound a phone."""
        clauses = [Clause("any", "following", ("1",)), Clause("any", "phone", ("1",))]
        return (await self._facts.evaluate(clauses))[0]

    async def total_spend_fen(self) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(keys.SEGMENT_BUCKETS):
                pipe.hget(keys.segment_totals(bucket), "spend")
            return sum(int(spend or 0) for spend in await pipe.execute())

    async def campaign_conversions(self) -> tuple[int, int]:
        converted = reached = 0
        for campaign_id in await self._redis.zrange(keys.CAMPAIGN_IDS, 0, -1):
            for field, n in (await self._redis.hgetall(keys.campaign_counts(campaign_id))).items():
                arm, measure = field.split("|", 1)
                if arm != HOLDOUT:
                    converted += int(n) if measure == "purchasers" else 0
                    reached += int(n) if measure == "members" else 0
        return converted, reached

    async def count_event(self, day: str, event_id: str, counts: dict[str, int]) -> bool:
        result = await self._scripts.run(
            "metrics_count", [keys.metrics_marks(day), keys.METRICS_TOTALS],
            [event_id, MARKS_KEPT_SECONDS, *(part for field, n in counts.items() for part in (field, n))])
        return result["counted"]

    async def totals(self) -> dict[tuple[str, str], int]:
        raw = await self._redis.hgetall(keys.METRICS_TOTALS)
        return {tuple(field.split("|", 1)): int(n) for field, n in raw.items()}

    async def keep(self, day: date, figures: dict, keep_days: int) -> None:
        await self._redis.hset(keys.METRICS_DAILY, day.isoformat(), orjson.dumps(figures))
        old = [kept for kept in await self._redis.hkeys(keys.METRICS_DAILY)
               if (day - date.fromisoformat(kept)).days > keep_days]
        if old:
            await self._redis.hdel(keys.METRICS_DAILY, *old)

    async def history(self, since: date) -> list[dict]:
        kept = await self._redis.hgetall(keys.METRICS_DAILY)
        return [orjson.loads(kept[day]) for day in sorted(kept) if day >= since.isoformat()]
