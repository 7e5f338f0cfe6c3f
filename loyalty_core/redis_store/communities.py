"""Communities in Redis: the definitions in one slot (`{communities}`), each community's managers and members in
its own (`{cm:<id>}`), each member's communities in the member's slot. The two membership sets are changed one
after the other (the member's first, by a script that checks the limit), each step idempotent."""
from __future__ import annotations

import orjson
from redis.asyncio import Redis

from .. import keys
from ..communities import Community
from .scripts import Scripts


class RedisCommunityStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def save(self, community_id: str, name: str, description: str, tag_id: int, limit: int) -> Community:
        result = await self._scripts.run_or_refuse(
            "community_save", [keys.COMMUNITIES, keys.COMMUNITY_NAMES, keys.COMMUNITY_SEQ],
            [community_id, name, description, tag_id, limit])
        return _community(community_id, result["community"])

    async def get(self, community_id: str) -> Community | None:
        raw = await self._redis.hget(keys.COMMUNITIES, community_id)
        return _community(community_id, orjson.loads(raw)) if raw else None

    async def all(self) -> list[Community]:
        raw = await self._redis.hgetall(keys.COMMUNITIES)     # bounded: at most 100 (WeChat's tags per account)
        return [_community(community_id, orjson.loads(value)) for community_id, value in raw.items()]

    async def count(self) -> int:
        return await self._redis.hlen(keys.COMMUNITIES)

    async def add_manager(self, community_id: str, openid: str) -> None:
        await self._scripts.run("community_manager_add", [keys.community_managers(community_id)], [openid])

    async def managers(self, community_id: str) -> tuple[str, ...]:
        return tuple(sorted(await self._redis.smembers(keys.community_managers(community_id))))

    async def is_manager(self, community_id: str, openid: str) -> bool:
        return bool(await self._redis.sismember(keys.community_managers(community_id), openid))

    async def member_count(self, community_id: str) -> int:
        return await self._redis.scard(keys.community_members(community_id))

    async def communities_of(self, member_id: str) -> set[str]:
        return set(await self._redis.smembers(keys.member_communities(member_id)))   # at most 20

    async def join(self, member_id: str, community_id: str, limit: int) -> bool:
        result = await self._scripts.run_or_refuse("community_join", [keys.member_communities(member_id)],
                                                   [community_id, limit])
        await self._redis.sadd(keys.community_members(community_id), member_id)   # again after a crash: harmless
        return result["joined"]

    async def leave(self, member_id: str, community_id: str) -> bool:
        result = await self._scripts.run("community_leave", [keys.member_communities(member_id)], [community_id])
        await self._redis.srem(keys.community_members(community_id), member_id)
        return result["left"]

    async def is_in(self, member_id: str, community_id: str) -> bool:
        return bool(await self._redis.sismember(keys.member_communities(member_id), community_id))

    async def members(self, community_id: str, cursor: int, count: int) -> tuple[int, list[str]]:
        cursor, found = await self._redis.sscan(keys.community_members(community_id), cursor, count=count)
        return int(cursor), list(found)


def _community(community_id: str, raw: dict) -> Community:
    return Community(community_id, raw["name"], raw.get("description", ""), int(raw["tag_id"]), int(raw["number"]))
