"""Folding a follower into the imported member who holds their phone, in Redis: the fold record in the follower's
slot, each step one script in one member's slot (or one index entry), each safe to run again."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms
from ..member_fold import FoldRecord
from .outbox import Outbox
from .scripts import Scripts, refusal

FOLLOW_FIELDS = ("openid", "status", "joined_at", "followed_at", "follow_count", "joined_via", "nickname",
                 "unfollowed_at")


def _expiry_index(member_id: str) -> str:
    return keys.coupon_expiry_index(keys.coupon_expiry_partition(member_id))


class RedisFoldStore:
    def __init__(self, redis: Redis, scripts: Scripts, outbox: Outbox):
        self._redis = redis
        self._scripts = scripts
        self._outbox = outbox

    async def foldable(self, member_id: str, follower_id: str) -> bool:
        """The imported member may take this follower: no openid of their own, no other follower folding in."""
        status, openid, fold_from = await self._redis.hmget(keys.member_profile(member_id), "status", "openid",
                                                            "fold_from")
        return status == "imported" and not openid and fold_from in (None, follower_id)

    async def record(self, follower_id: str) -> FoldRecord | None:
        raw = await self._redis.hgetall(keys.member_fold(follower_id))
        if not raw:
            return None
        return FoldRecord(follower_id=follower_id, into=raw["into"], points=int(raw["points"]) if "points" in raw
                          else None, done=bool(raw.get("done_at")))

    async def begin(self, follower_id: str, member_id: str, now: datetime) -> None:
        await self._checked("fold_begin", [keys.member_profile(follower_id), keys.member_fold(follower_id)],
                            [follower_id, member_id, now.isoformat()])
        await self._redis.zadd(keys.FOLDS_OPEN, {follower_id: epoch_ms(now)}, nx=True)

    async def claim(self, member_id: str, follower_id: str) -> None:
        openid = await self._redis.hget(keys.member_profile(follower_id), "openid")
        await self._checked("fold_claim", [keys.member_profile(member_id)], [follower_id, openid or ""])

    async def abandon(self, follower_id: str) -> None:
        await self._redis.delete(keys.member_fold(follower_id))
        await self._redis.zrem(keys.FOLDS_OPEN, follower_id)

    async def take_identity(self, member_id: str, follower_id: str, now: datetime) -> str:
        """The member takes the follower's openid, status and follow times; returns the openid."""
        values = await self._redis.hmget(keys.member_profile(follower_id), *FOLLOW_FIELDS)
        fields = {name: value for name, value in zip(FOLLOW_FIELDS, values) if value}
        await self._outbox.mark(member_id, now)
        await self._checked("fold_profile", [keys.member_profile(member_id), keys.member_outbox(member_id)],
                            [member_id, follower_id, now.isoformat(), orjson.dumps(fields)])
        await self._outbox.relay(member_id)
        return fields["openid"]

    async def repoint(self, index_key: str, follower_id: str, member_id: str) -> None:
        await self._scripts.run("txn_index_move", [index_key], [follower_id, member_id])

    async def repoint_openid(self, openid: str, follower_id: str, member_id: str) -> None:
        await self.repoint(keys.openid_index(openid), follower_id, member_id)

    async def note_points(self, follower_id: str, points: int) -> int:
        """The points to move, noted once in the fold record: a resumed fold moves the same amount."""
        record = keys.member_fold(follower_id)
        await self._redis.hsetnx(record, "points", points)
        return int(await self._redis.hget(record, "points"))

    async def move_coupons(self, follower_id: str, member_id: str) -> int:
        taken = await self._checked("fold_coupons_out", [
            keys.member_coupons(follower_id), keys.member_coupon_counts(follower_id),
            keys.member_coupon_ops(follower_id), keys.member_fold(follower_id)], [follower_id])
        await self._checked("fold_coupons_in", [
            keys.member_coupons(member_id), keys.member_coupon_counts(member_id), keys.member_coupon_ops(member_id)],
            [member_id, follower_id, taken["coupons"]])
        coupons = orjson.loads(taken["coupons"])
        for item in coupons:
            coupon = orjson.loads(item["coupon"])
            await self.repoint(keys.coupon_index(item["code"]), follower_id, member_id)
            await self._redis.zadd(_expiry_index(member_id), {f"{member_id}:{item['code']}": coupon["expires_ms"]})
            await self._redis.zrem(_expiry_index(follower_id), f"{follower_id}:{item['code']}")
        return len(coupons)

    async def finish(self, follower_id: str, member_id: str, now: datetime) -> None:
        await self._outbox.mark(follower_id, now)
        await self._checked("fold_finish", [keys.member_profile(follower_id), keys.member_fold(follower_id),
                                            keys.phone_challenge(follower_id), keys.member_outbox(follower_id)],
                            [follower_id, member_id, now.isoformat()])
        await self._outbox.relay(follower_id)
        await self._redis.zrem(keys.FOLDS_OPEN, follower_id)

    async def open_folds(self, started_before: datetime, limit: int = 100) -> list[str]:
        return await self._redis.zrangebyscore(keys.FOLDS_OPEN, "-inf", epoch_ms(started_before), start=0, num=limit)

    async def _checked(self, name: str, script_keys: list[str], args: list) -> dict:
        result = await self._scripts.run(name, script_keys, args)
        if not result["ok"]:
            raise refusal(result)
        return result
