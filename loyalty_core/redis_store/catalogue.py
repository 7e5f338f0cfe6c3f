"""The catalogue in Redis: admin-made items, each item's stock and reservations in the item's own slot
`{item:<id>}`, and each member's redemption outcomes in the member's slot."""
from __future__ import annotations

from datetime import datetime, timedelta

import orjson
from redis.asyncio import Redis

from .. import errors, keys
from ..clock import epoch_ms
from ..redemption import Outcome, Reservation
from .outbox import Outbox
from .scripts import Scripts


def _stock_keys(item_id: str) -> list[str]:
    return [keys.item_stock(item_id), keys.item_reservations(item_id), keys.item_open_reservations(item_id),
            keys.item_member_counts(item_id), keys.item_settled_reservations(item_id)]


class RedisCatalogueStore:
    def __init__(self, redis: Redis, scripts: Scripts, outbox: Outbox):
        self._redis = redis
        self._scripts = scripts
        self._outbox = outbox

    # -- items made through the admin API --------------------------------------------------------------
    async def item_defs(self) -> list[dict]:
        return [orjson.loads(raw) for raw in (await self._redis.hgetall(keys.CATALOGUE_ITEMS)).values()]

    async def item_def(self, item_id: str) -> dict | None:
        raw = await self._redis.hget(keys.CATALOGUE_ITEMS, item_id)
        return None if raw is None else orjson.loads(raw)

    async def add_item_def(self, item_id: str, raw: dict) -> bool:
        return bool(await self._redis.hsetnx(keys.CATALOGUE_ITEMS, item_id, orjson.dumps(raw)))

    # -- stock and reservations (the item's slot) --------------------------------------------------------
    async def stock_left(self, items: list[tuple[str, int | None]]) -> dict[str, int | None]:
        """Stock left per item id; an item's stock is set from its initial stock on first use."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for item_id, _ in items:
                pipe.hget(keys.item_stock(item_id), "left")
            lefts = await pipe.execute()
        return {item_id: None if initial is None else int(left if left is not None else initial)
                for (item_id, initial), left in zip(items, lefts)}

    async def member_count(self, item_id: str, member_id: str) -> int:
        return int(await self._redis.hget(keys.item_member_counts(item_id), member_id) or 0)

    async def reserve(self, item_id: str, reservation_id: str, member_id: str, points: int, initial: int | None,
                      per_member_limit: int, now: datetime) -> Reservation:
        result = await self._scripts.run_or_refuse(
            "stock_reserve", _stock_keys(item_id)[:4],
            [reservation_id, member_id, points, -1 if initial is None else initial, per_member_limit,
             epoch_ms(now), now.isoformat(), item_id])
        return _reservation(result["reservation"])

    async def confirm(self, item_id: str, reservation_id: str, now: datetime) -> None:
        result = await self._scripts.run("stock_confirm", _stock_keys(item_id),
                                         [reservation_id, now.isoformat(), epoch_ms(now)])
        if not result["ok"]:   # released before (for a reason that is a refusal's code), or never reserved
            raise errors.from_code(result.get("reason") or "redemption_lapsed")

    async def release(self, item_id: str, reservation_id: str, reason: str, now: datetime) -> bool:
        result = await self._scripts.run("stock_release", _stock_keys(item_id),
                                         [reservation_id, now.isoformat(), reason, epoch_ms(now)])
        return result["ok"]

    async def forget_settled(self, item_id: str, settled_before: datetime, limit: int) -> int:
        result = await self._scripts.run(
            "stock_forget", [keys.item_reservations(item_id), keys.item_settled_reservations(item_id)],
            [epoch_ms(settled_before), limit])
        return result["forgotten"]

    async def reservation(self, item_id: str, reservation_id: str) -> Reservation | None:
        raw = await self._redis.hget(keys.item_reservations(item_id), reservation_id)
        return None if raw is None else _reservation(orjson.loads(raw))

    async def open_reservations(self, item_id: str, reserved_before: datetime, limit: int,
                                offset: int = 0) -> list[str]:
        return await self._redis.zrangebyscore(keys.item_open_reservations(item_id), "-inf",
                                               f"({epoch_ms(reserved_before)}", start=offset, num=limit)

    async def stock(self, item_id: str) -> dict:
        raw = await self._redis.hgetall(keys.item_stock(item_id))
        return {k: int(v) for k, v in raw.items()}

    # -- the member's side -----------------------------------------------------------------------------
    async def record_outcome(self, member_id: str, redemption_id: str, outcome: dict, event: dict,
                             now: datetime) -> Outcome:
        await self._outbox.mark(member_id, now)
        result = await self._scripts.run(
            "redemption_record", [keys.member_redemptions(member_id), keys.member_outbox(member_id)],
            [member_id, now.isoformat(), redemption_id, orjson.dumps(outcome), orjson.dumps(event)])
        await self._outbox.relay(member_id)
        return Outcome(**result["outcome"])

    async def outcome(self, member_id: str, redemption_id: str) -> Outcome | None:
        raw = await self._redis.hget(keys.member_redemptions(member_id), redemption_id)
        return None if raw is None else Outcome(**orjson.loads(raw))

    async def save_listing(self, member_id: str, listing: dict, keep: timedelta) -> None:
        await self._redis.set(keys.member_redeem_list(member_id), orjson.dumps(listing),
                              ex=int(keep.total_seconds()))

    async def listing(self, member_id: str) -> dict | None:
        raw = await self._redis.get(keys.member_redeem_list(member_id))
        return None if raw is None else orjson.loads(raw)


def _reservation(raw: dict) -> Reservation:
    return Reservation(reservation_id=raw["reservation_id"], item_id=raw["item_id"], member_id=raw["member_id"],
                       points=int(raw["points"]), state=raw["state"], reason=raw.get("reason") or "")
