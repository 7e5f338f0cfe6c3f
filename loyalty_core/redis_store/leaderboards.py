"""Reading a leaderboard zset: the top entries with their members' nicknames, and one member's place."""
from __future__ import annotations

from redis.asyncio import Redis

from .. import keys
from ..points import BoardRead


async def read_leaderboard(redis: Redis, board: str, size: int, member_id: str) -> BoardRead:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrevrange(board, 0, size - 1, withscores=True)
        pipe.zrevrank(board, member_id)
        pipe.zscore(board, member_id)
        top, my_rank, my_score = await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        for mid, _ in top:
            pipe.hget(keys.member_profile(mid), "nickname")
        nicknames = await pipe.execute()
    return BoardRead(top=tuple((mid, nickname or "", int(score)) for (mid, score), nickname in zip(top, nicknames)),
                     my_rank=None if my_rank is None else my_rank + 1, my_score=int(my_score or 0))
