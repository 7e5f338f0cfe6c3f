"""Birthdays in Redis: the sealed birthday, its gift claims and audit in the member's slot; the
month-day index (`idx:birthday:<keyed hash of the label>`) and gift vouchers as their own keys."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..birthday import StoredChange, StoredClaim
from .batching import Batcher
from .outbox import Outbox
from .scripts import Scripts, refusal

INDEX_SCAN_COUNT = 500


class RedisBirthdayStore:
    def __init__(self, redis: Redis, scripts: Scripts, outbox: Outbox, batcher: Batcher):
        self._redis = redis
        self._scripts = scripts
        self._outbox = outbox
        self._batcher = batcher

    async def sealed(self, member_id: str) -> str | None:
        """The member's sealed birthday; batched, as it is read on every purchase."""
        return await self._batcher.call("HGET", keys.member_birthday(member_id), "enc")

    async def _member_script(self, member_id: str, name: str, extra_keys: list[str], args: list,
                             now: datetime) -> dict:
        await self._outbox.mark(member_id, now)
        result = await self._scripts.run(name, [keys.member_birthday(member_id), *extra_keys,
                                                keys.member_outbox(member_id)], args)
        await self._outbox.relay(member_id)
        if not result["ok"]:
            raise refusal(result)
        return result

    async def set(self, member_id: str, sealed: str, label: str, calendar: str, op_id: str, now: datetime) -> None:
        await self._member_script(member_id, "birthday_set", [keys.member_birthday_audit(member_id)],
                                  [member_id, now.isoformat(), sealed, label, calendar, op_id], now)

    async def change(self, member_id: str, sealed: str, label: str, calendar: str, request_id: str, staff_id: str,
                     reason: str, fingerprint: str, now: datetime) -> StoredChange:
        result = await self._member_script(
            member_id, "birthday_change", [keys.member_birthday_audit(member_id)],
            [member_id, now.isoformat(), sealed, label, calendar, request_id, staff_id, reason, fingerprint], now)
        return StoredChange(action=result["action"], changes=result["changes"],
                            previous_label=result["previous_label"], replayed=bool(result.get("replayed")))

    async def claim(self, member_id: str, cycle: int, gift: dict, now: datetime) -> StoredClaim:
        result = await self._member_script(member_id, "birthday_claim", [],
                                           [member_id, now.isoformat(), cycle, orjson.dumps(gift)], now)
        return StoredClaim(record=orjson.loads(result["gift"]), replayed=bool(result["replayed"]))

    async def audit(self, member_id: str, count: int) -> list[dict]:
        return [orjson.loads(raw) for raw in await self._redis.lrange(keys.member_birthday_audit(member_id), 0,
                                                                       count - 1)]

    # -- the month-day index -------------------------------------------------------------------------------
    async def label(self, member_id: str) -> str | None:
        return await self._redis.hget(keys.member_birthday(member_id), "label")

    async def index(self, label: str, member_id: str, previous_label: str = "") -> None:
        """File the member under `label` (and out of `previous_label`); both steps are idempotent."""
        if previous_label and previous_label != label:
            await self._redis.srem(keys.birthday_index(previous_label), member_id)
        await self._redis.sadd(keys.birthday_index(label), member_id)

    async def unindex(self, member_id: str, labels: set[str]) -> None:
        """Take the member out of these labels' index sets (each its own step: they are in other slots)."""
        for label in labels:
            await self._redis.srem(keys.birthday_index(label), member_id)

    async def members_under(self, label: str) -> list[str]:
        """Members filed under the label whose birthday still carries it (a change whose index step was
        cut short leaves a stale entry behind: it is skipped here, and removed)."""
        filed = [member async for member in self._redis.sscan_iter(keys.birthday_index(label),
                                                                     count=INDEX_SCAN_COUNT)]
        if not filed:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for member_id in filed:
                pipe.hget(keys.member_birthday(member_id), "label")
            current = await pipe.execute()
        stale = [member for member, now_label in zip(filed, current) if now_label != label]
        if stale:
            await self._redis.srem(keys.birthday_index(label), *stale)
        return [member for member, now_label in zip(filed, current) if now_label == label]

    # -- gift vouchers ------------------------------------------------------------------------------------
    async def file_voucher(self, code: str, voucher: dict) -> bool:
        """The desk looks a voucher up by its code; False when the code belongs to someone else."""
        key = keys.gift_voucher(code)
        if await self._redis.set(key, orjson.dumps(voucher), nx=True):
            return True
        held = await self._redis.get(key)
        return held is not None and orjson.loads(held).get("member_id") == voucher["member_id"]

    async def voucher(self, code: str) -> dict | None:
        raw = await self._redis.get(keys.gift_voucher(code))
        return orjson.loads(raw) if raw else None
