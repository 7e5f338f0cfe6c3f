"""Referrals in Redis. The referee's side ({m:<referee>}:referee) and the referrer's side
({m:<referrer>}:referrer, :referees, :referral-rejections) are different slots, each changed by its own
script; the due index, the monthly leaderboards and the phone index are keys of their own, written by
idempotent steps (absolute scores, SET NX, compare-and-delete)."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms, from_epoch_ms
from ..points import BoardRead
from ..referral import Credit, RewardStep
from .leaderboards import read_leaderboard
from .outbox import Outbox
from .scripts import Scripts

OP_TTL_SECONDS = 7 * 86400
REJECTIONS_KEPT = 100


class RedisReferralStore:
    def __init__(self, redis: Redis, scripts: Scripts, outbox: Outbox):
        self._redis = redis
        self._scripts = scripts
        self._outbox = outbox

    async def _referee_script(self, referee: str, name: str, args: list, now: datetime) -> dict:
        await self._outbox.mark(referee, now)
        result = await self._scripts.run(name, [keys.member_referee(referee), keys.member_outbox(referee)],
                                         [referee, now.isoformat(), *args])
        await self._outbox.relay(referee)
        return result

    def _referrer_keys(self, referrer: str) -> list[str]:
        return [keys.member_referrer(referrer), keys.member_referees(referrer)]

    # -- the referee's side ---------------------------------------------------------------------------------
    async def referee(self, referee: str) -> dict:
        return await self._redis.hgetall(keys.member_referee(referee))

    async def attribute(self, referee: str, referrer: str, reason: str, attempt: str, now: datetime) -> RewardStep:
        result = await self._referee_script(referee, "referral_attribute", [referrer, reason, attempt], now)
        return RewardStep("attributed" if result["attributed"] else "rejected", referrer, result.get("reason", ""))

    async def pending(self, referee: str, txn_id: str, purchased_at: datetime, due: datetime, reserved: bool,
                      now: datetime) -> RewardStep:
        return _step(await self._referee_script(
            referee, "referral_pending", [txn_id, epoch_ms(due), due.isoformat(), int(reserved),
                                          purchased_at.isoformat()], now))

    async def cancel(self, referee: str, txn_id: str, refunded_at: datetime, now: datetime) -> RewardStep:
        result = await self._referee_script(referee, "referral_cancel", [txn_id, epoch_ms(refunded_at)], now)
        return _step(result, changed=result["cancelled"])

    async def release(self, referee: str, reason: str, following: bool, hold_until: datetime,
                      now: datetime) -> RewardStep:
        return _step(await self._referee_script(
            referee, "referral_release", [epoch_ms(now), reason, int(following), epoch_ms(hold_until)], now))

    # -- the referrer's side --------------------------------------------------------------------------------
    async def joined(self, referrer: str, referee: str, outcome: str, attempt: str, now: datetime) -> None:
        op = keys.member_op(referrer, f"referral:{referee}:{attempt}")
        await self._scripts.run(
            "referral_joined",
            [*self._referrer_keys(referrer), keys.member_referral_rejections(referrer), op],
            [referee, now.isoformat(), outcome, OP_TTL_SECONDS, REJECTIONS_KEPT])

    async def reserve(self, referrer: str, referee: str, month: str, cap: int, now: datetime) -> bool:
        result = await self._scripts.run("referral_reserve", self._referrer_keys(referrer),
                                         [referee, month, cap, now.isoformat()])
        return result["reserved"]

    async def unreserve(self, referrer: str, referee: str, reason: str, now: datetime) -> None:
        await self._scripts.run("referral_unreserve", self._referrer_keys(referrer), [referee, now.isoformat(), reason])

    async def credit(self, referrer: str, referee: str, month: str, points: int, levels: list[dict],
                     now: datetime) -> Credit:
        result = await self._scripts.run("referral_credit", self._referrer_keys(referrer),
                                         [referee, now.isoformat(), month, points, levels])
        return Credit(points=result["points"], month=result["month"], month_count=result["month_count"])

    async def referrer(self, referrer: str) -> dict:
        return await self._redis.hgetall(keys.member_referrer(referrer))

    async def rejections(self, referrer: str, count: int) -> list[dict]:
        raw = await self._redis.lrange(keys.member_referral_rejections(referrer), 0, count - 1)
        return [orjson.loads(entry) for entry in raw]

    # -- cross-member keys ----------------------------------------------------------------------------------
    async def schedule(self, referee: str, due: datetime) -> None:
        await self._redis.zadd(keys.REFERRAL_DUE_INDEX, {referee: epoch_ms(due)})

    async def unschedule(self, referee: str) -> None:
        await self._redis.zrem(keys.REFERRAL_DUE_INDEX, referee)

    async def due(self, until: datetime, offset: int, limit: int) -> list[str]:
        return await self._redis.zrangebyscore(keys.REFERRAL_DUE_INDEX, "-inf", epoch_ms(until), start=offset,
                                               num=limit)

    async def rank(self, month: str, referrer: str, count: int) -> None:
        """The month's count of the referrer (absolute, and never lowered by a stale writer)."""
        await self._redis.zadd(keys.referral_leaderboard(month), {referrer: count}, gt=True)

    async def claim_phone(self, phone_hash: str, referee: str) -> str:
        """The referee holding this phone for referrals: this one if it was free."""
        if await self._redis.set(keys.referral_phone(phone_hash), referee, nx=True):
            return referee
        return await self._redis.get(keys.referral_phone(phone_hash)) or referee

    async def release_phone(self, phone_hash: str, referee: str) -> None:
        await self._scripts.run("index_release", [keys.referral_phone(phone_hash)], [referee])

    async def leaderboard(self, month: str, size: int, member_id: str) -> BoardRead:
        return await read_leaderboard(self._redis, keys.referral_leaderboard(month), size, member_id)

    async def my_rank(self, month: str, member_id: str) -> int | None:
        rank = await self._redis.zrevrank(keys.referral_leaderboard(month), member_id)
        return None if rank is None else rank + 1


def _step(result: dict, *, changed: bool | None = None) -> RewardStep:
    held = result.get("hold_until_ms")
    return RewardStep(result.get("status", ""), result.get("referrer", ""), result.get("reason", ""),
                      changed=not result.get("replayed", True) if changed is None else changed,
                      hold_until=from_epoch_ms(held) if held else None)
