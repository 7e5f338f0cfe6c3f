"""Reading a leaderboard: the top entries with their members' nicknames, and one member's place. A board may be
kept in several zsets (partitions of members, each its own cluster slot): it is then their merge, in the order
one zset would keep (most points first, equal points by member id, the greater first)."""
from __future__ import annotations

from redis.asyncio import Redis

from .. import keys
from ..points import BoardRead


async def read_leaderboard(redis: Redis, board: str | list[str], size: int, member_id: str) -> BoardRead:
    parts = [board] if isinstance(board, str) else board
    async with redis.pipeline(transaction=False) as pipe:
        for part in parts:
            pipe.zrevrange(part, 0, size - 1, withscores=True)
        for part in parts:
            pipe.zscore(part, member_id)
        read = await pipe.execute()
    tops, scores = read[:len(parts)], read[len(parts):]
    top = sorted((entry for part_top in tops for entry in part_top), key=lambda e: (e[1], e[0]), reverse=True)[:size]
    my_score = next((score for score in scores if score is not None), None)
    my_rank = None if my_score is None else await _rank(redis, parts, member_id, my_score)
    async with redis.pipeline(transaction=False) as pipe:
        for mid, _ in top:
            pipe.hget(keys.member_profile(mid), "nickname")
        nicknames = await pipe.execute()
    return BoardRead(top=tuple((mid, nickname or "", int(score)) for (mid, score), nickname in zip(top, nicknames)),
                     my_rank=my_rank, my_score=int(my_score or 0))


async def _rank(redis: Redis, parts: list[str], member_id: str, score: float) -> int:
    """1 + the members with more points + those with as many whose id sorts after (ZREVRANK's order)."""
    if len(parts) == 1:
        return await redis.zrevrank(parts[0], member_id) + 1
    async with redis.pipeline(transaction=False) as pipe:
        for part in parts:
            pipe.zcount(part, f"({score}", "+inf")
        for part in parts:
            pipe.zrangebyscore(part, score, score)
        read = await pipe.execute()
    ahead, tied = sum(read[:len(parts)]), [mid for part_tied in read[len(parts):] for mid in part_tied]
    return 1 + ahead + sum(mid > member_id for mid in tied)
