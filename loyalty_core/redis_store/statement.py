"""Who turned the monthly statement off: a segment index, so that the statement's segment leaves them out."""
from __future__ import annotations

from redis.asyncio import Redis

from .. import keys


def _off_set(member_id: str) -> str:
    return keys.segment_set(keys.STATEMENT_OFF_INDEX, "1", keys.segment_bucket(member_id))


class RedisStatementPreferences:
    def __init__(self, redis: Redis):
        self._redis = redis

    async def turn_off(self, member_id: str) -> bool:
        return bool(await self._redis.sadd(_off_set(member_id), member_id))

    async def turn_on(self, member_id: str) -> bool:
        return bool(await self._redis.srem(_off_set(member_id), member_id))

    async def is_off(self, member_id: str) -> bool:
        return bool(await self._redis.sismember(_off_set(member_id), member_id))


class RedisBuiltinRegistry:
    """The built-in campaigns in force (loyalty_core/builtin_campaigns.py)."""

    def __init__(self, redis: Redis):
        self._redis = redis

    async def current(self, name: str) -> str | None:
        return await self._redis.hget(keys.BUILTIN_CAMPAIGNS, name)

    async def replace(self, name: str, campaign_id: str) -> str | None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(keys.BUILTIN_CAMPAIGNS, name)
            pipe.hset(keys.BUILTIN_CAMPAIGNS, name, campaign_id)
            before, _ = await pipe.execute()
        return before
