"""The points ledger and tiers in Redis: one Lua script per change in the member's slot, then the
cross-member steps as idempotent writes: the stream relay of the script's events, and one sync of the
ledger's indexes (lots to expire, lots to warn about, tier reviews, yearly leaderboards; one slot).

Round trips of a purchase: claim the txn index (1); mark the member dirty in the outbox, pre-mark the
expiry, warning and review indexes and run the member's script (2); relay the events and sync the
indexes (3). Each step's commands go through the batcher, which pipelines them with those of concurrent
requests. Index writes are absolute and guarded by the member's `ver`, so a retry (or any later
operation of the member) repairs what a crash between steps left behind; the pre-marks are never later
than the truth (a new lot is never warned about yet; an upgrade is reviewed on `next_review`), so lots
are warned about and expire, and upgrades are reviewed, on time even then.
"""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from functools import lru_cache

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms
from ..points import BalanceView, BoardRead, HistoryEntry, LedgerChange, PurchaseResult, PurchaseWrite, RefundResult
from ..tiers import ReviewResult, TierView
from ..till import RefundState
from . import replicated
from .batching import Batcher
from .leaderboards import read_leaderboard
from .outbox import STREAM_MAXLEN, Outbox
from .scripts import Scripts, refusal


def ledger_keys(member_id: str) -> list[str]:
    return [keys.points_account(member_id), keys.points_lots(member_id), keys.points_lot_data(member_id),
            keys.points_history(member_id), keys.member_outbox(member_id), keys.points_ops(member_id)]


def _base_args(member_id: str, now: datetime) -> list:
    return [member_id, epoch_ms(now), now.isoformat()]


@lru_cache(maxsize=1024)
def day_key(day: date) -> str:
    return day.strftime("%Y%m%d")


def parse_day(value: str | int) -> date:
    return datetime.strptime(str(value), "%Y%m%d").date()


class RedisLedgerStore:
    """`index_ttl`: how long a txn_id, refund_id or redemption_id claim is kept (a till's retries, a refund's
    route to its purchase); None keeps them for good."""

    def __init__(self, redis: Redis, outbox: Outbox, batcher: Batcher | None = None, *,
                 index_ttl: timedelta | None = None):
        self._redis = redis
        self._outbox = outbox
        self._batcher = batcher or Batcher(redis)
        self.scripts = Scripts(redis, self._batcher)
        self._expiry = ("EX", int(index_ttl.total_seconds())) if index_ttl else ()

    # -- writes ------------------------------------------------------------------------------------
    async def _change(self, member_id: str, now: datetime, name: str, extra_keys: list[str], args: list,
                      *, new_lot_expires: datetime | None = None, review_on: date | None = None,
                      allowed_refusals: tuple[str, ...] = ()) -> dict:
        """Mark, run the member's script, then relay its events and sync the indexes. The marks are
        queued in the same loop turn as the script, so they travel ahead of it in one pipeline.
        Pre-marks (ZADD LT) are never later than the truth, even if we die before the sync.
        A refusal raises its domain error, unless the caller names it as an answer of its own."""
        part = keys.ledger_partition(member_id)
        marks = [self._batcher.call("ZADD", keys.OUTBOX_DIRTY, epoch_ms(now), member_id)]  # = Outbox.mark
        if new_lot_expires is not None:
            marks += [self._batcher.call("ZADD", index, "LT", epoch_ms(new_lot_expires), member_id)
                      for index in (keys.points_expiry_index(part), keys.points_warn_index(part))]
        if review_on is not None:  # the review day if this purchase upgrades the member
            marks.append(self._batcher.call("ZADD", keys.tier_review_index(part), "LT", day_key(review_on),
                                            member_id))
        try:
            result = await self._run(name, member_id, ledger_keys(member_id) + extra_keys,
                                     _base_args(member_id, now) + args)
        finally:
            await asyncio.gather(*marks)
        if result["ok"]:
            await self._settle(member_id, result)
        elif result["error"] not in allowed_refusals:
            raise refusal(result)
        return result

    async def _run(self, name: str, member_id: str, script_keys: list[str], args: list) -> dict:
        """The member's script; on a cluster whose masters have replicas, answered only once a replica has the
        change, or the earlier change a replayed answer reports (replicated.py)."""
        replicas = await replicated.replicas_of(self._redis, script_keys[0])
        if not replicas:
            return await self.scripts.run(name, script_keys, args)
        result = await self.scripts.run_replicated(name, script_keys, args, min(replicas, 1))
        if result.get("replayed"):
            await replicated.confirm(self._redis, keys.points_account(member_id), "ver", 1)
        return result

    async def _settle(self, member_id: str, result: dict) -> None:
        events = result.get("events") or []
        pending = sorted(((orjson.loads(body), event_id, body) for event_id, body in zip(events[::2], events[1::2])),
                         key=lambda item: (item[0].get("occurred_at", ""), item[1]))
        boards = [(result["year"], result["earned_year"]),
                  *zip(result.get("other_years") or [], result.get("other_earned") or [])]
        part = keys.ledger_partition(member_id)
        zsets = [keys.points_expiry_index(part), keys.points_warn_index(part), keys.tier_review_index(part)] + \
            [keys.points_leaderboard(year, part) for year, _ in boards]
        scores = [_score(result["earliest"]), _score(result["unwarned"]), result["review_on"]] + \
            [earned or "" for _, earned in boards]
        relayed = [self._batcher.call("XADD", keys.OUTBOX_STREAM, "MAXLEN", "~", STREAM_MAXLEN, "*",
                                      "event_id", event_id, "type", event["type"], "event", body)
                   for event, event_id, body in pending]    # the entries Outbox.relay writes
        if pending:
            relayed.append(self._batcher.call("HDEL", keys.member_outbox(member_id),
                                              *(event_id for _, event_id, _ in pending)))
        synced = self.scripts.call("index_sync", [keys.ledger_index_versions(part), *zsets],
                                  [member_id, result["ver"], *scores])
        await asyncio.gather(synced, *relayed)

    async def purchase(self, write: PurchaseWrite) -> PurchaseResult:
        m = write.member_id
        tiers = [{"code": tier.code, "threshold": tier.threshold_fen, "reward": tier.upgrade_reward, "points": points}
                 for tier, points in write.points_by_tier]
        args = [write.txn_id, write.fingerprint, write.amount_fen, epoch_ms(write.lot_expires),
                write.lot_expires.date().isoformat(), day_key(write.day), day_key(write.window_start),
                str(write.now.year), day_key(write.next_review), orjson.dumps(tiers), orjson.dumps(write.details),
                _ms(write.upgrade_grace)]
        result = await self._change(m, write.now, "points_purchase", [keys.member_purchases(m), keys.spend_days(m)],
                                    args, new_lot_expires=write.lot_expires, review_on=write.next_review)
        return PurchaseResult(**result["answer"], replayed=bool(result.get("replayed")))

    async def refund(self, member_id: str, refund_id: str, txn_id: str, amount_fen: int, amount_text: str,
                     fingerprint: str, now: datetime, window_start: date, tiers: list[dict],
                     upgrade_grace: timedelta) -> RefundResult:
        result = await self._change(
            member_id, now, "points_refund", [keys.member_purchases(member_id), keys.spend_days(member_id)],
            [refund_id, txn_id, amount_fen, fingerprint, day_key(window_start), amount_text, orjson.dumps(tiers),
             _ms(upgrade_grace)])
        return RefundResult(**result["answer"], replayed=bool(result.get("replayed")))

    async def spend(self, member_id: str, points: int, redemption_id: str, now: datetime) -> LedgerChange:
        return ledger_change(await self._change(member_id, now, "points_spend", [], [redemption_id, points]))

    async def grant(self, member_id: str, points: int, source: str, ref: str, now: datetime,
                    expires: datetime) -> LedgerChange:
        return ledger_change(await self._change(
            member_id, now, "points_grant", [],
            [ref, points, source, epoch_ms(expires), expires.date().isoformat(), str(now.year)],
            new_lot_expires=expires))

    async def expire(self, member_id: str, now: datetime) -> int:
        return (await self._change(member_id, now, "points_expire", [], []))["answer"]["expired"]

    async def warn(self, member_id: str, now: datetime, horizon: datetime, *, last_reminder: bool = False) -> int:
        mark = "reminded_until" if last_reminder else "warned_until"
        days = round((horizon - now).total_seconds() / 86400)
        result = await self._change(member_id, now, "points_warn", [], [epoch_ms(horizon), mark, days])
        return result["answer"]["warned_lots"]

    async def review(self, member_id: str, now: datetime, today: date, window_start: date, tiers: list[dict],
                     review_on: str, next_review: str) -> ReviewResult:
        answer = (await self._change(member_id, now, "tier_review", [keys.spend_days(member_id)],
                                     [day_key(today), day_key(window_start), orjson.dumps(tiers), review_on,
                                      next_review]))["answer"]
        if not answer["due"]:
            return ReviewResult(member_id, due=False)
        return ReviewResult(member_id, due=True, kept=answer["kept"], from_tier=answer["from"], to_tier=answer["to"])

    # -- the till's global indexes -----------------------------------------------------------------
    async def claim_txn(self, txn_id: str, member_id: str, fingerprint: str) -> tuple[str, str] | None:
        return await self._claim(keys.txn_index(txn_id), f"{member_id}|{fingerprint}")

    async def txn_owner(self, txn_id: str) -> tuple[str, str] | None:
        return _holder(await self._batcher.call("GET", keys.txn_index(txn_id)))

    async def _claim(self, key: str, value: str) -> tuple[str, str] | None:
        """SET NX: None if claimed now, else the holder. A holder that released its claim meanwhile
        (its request failed) lets us try again."""
        for _ in range(3):
            if await self._batcher.call("SET", key, value, "NX", *self._expiry):
                return None
            holder = await self._batcher.call("GET", key)
            if holder is not None:
                return _holder(holder)
        raise RuntimeError(f"claim of {key} keeps changing hands")

    async def release_txn(self, txn_id: str, member_id: str, fingerprint: str) -> None:
        await self._release(keys.txn_index(txn_id), f"{member_id}|{fingerprint}")

    async def refund_state(self, refund_id: str, txn_id: str) -> RefundState:
        txn_holder, refund_holder = await asyncio.gather(          # two slots: no MGET in a cluster
            self._batcher.call("GET", keys.txn_index(txn_id)), self._batcher.call("GET", keys.refund_index(refund_id)))
        txn_holder = _holder(txn_holder)
        purchase = None
        if txn_holder is not None:
            raw = await self._batcher.call("HGET", keys.member_purchases(txn_holder[0]), txn_id)
            purchase = orjson.loads(raw) if raw else None
        return RefundState(txn_member=txn_holder[0] if txn_holder else None,
                           refund_holder=_holder(refund_holder), purchase=purchase)

    async def claim_refund(self, refund_id: str, member_id: str, fingerprint: str) -> tuple[str, str] | None:
        return await self._claim(keys.refund_index(refund_id), f"{member_id}|{fingerprint}")

    async def release_refund(self, refund_id: str, member_id: str, fingerprint: str) -> None:
        await self._release(keys.refund_index(refund_id), f"{member_id}|{fingerprint}")

    async def move_txn(self, txn_id: str, holder: str, new_holder: str) -> None:
        await self.scripts.run("txn_index_move", [keys.txn_index(txn_id)], [holder, new_holder])

    async def _release(self, key: str, value: str) -> None:
        """Delete a claim only if it is still ours."""
        await self.scripts.run("index_release", [key], [value])

    # -- reads -------------------------------------------------------------------------------------
    index_partitions = keys.LEDGER_PARTITIONS

    async def members_with_lots_expiring(self, until: datetime, partition: int, offset: int,
                                         limit: int) -> list[str]:
        """The partition's members whose earliest lot expires by `until`, earliest first."""
        return await self._redis.zrangebyscore(keys.points_expiry_index(partition), "-inf", epoch_ms(until),
                                               start=offset, num=limit)

    async def members_to_warn(self, until: datetime, partition: int, offset: int, limit: int) -> list[str]:
        """The partition's members with a lot expiring by `until` that they were not warned about yet."""
        return await self._redis.zrangebyscore(keys.points_warn_index(partition), "-inf", epoch_ms(until),
                                               start=offset, num=limit)

    async def members_due_for_review(self, today: date, partition: int, offset: int, limit: int) -> list[str]:
        return await self._redis.zrangebyscore(keys.tier_review_index(partition), "-inf", int(day_key(today)),
                                               start=offset, num=limit)

    async def balance_view(self, member_id: str, now: datetime, horizon: datetime) -> BalanceView:
        view = await self.scripts.run("points_view", [keys.points_account(member_id), keys.points_lots(member_id),
                                                      keys.points_lot_data(member_id)], [epoch_ms(horizon)])
        lots = [orjson.loads(raw) for raw in view["lots"] or () if raw]   # an empty Lua table arrives as {}
        now_ms = epoch_ms(now)
        gone = sum(lot["remaining"] for lot in lots if lot["expires_at"] <= now_ms)
        expiring = tuple((lot["remaining"], date.fromisoformat(lot["expires_on"])) for lot in lots
                         if lot["expires_at"] > now_ms)
        return BalanceView(balance=view["balance"] - gone, debt=view["debt"], expiring=expiring)

    async def history(self, member_id: str, start: int, count: int) -> tuple[list[HistoryEntry], int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lrange(keys.points_history(member_id), start, start + count - 1)
            pipe.llen(keys.points_history(member_id))
            raw, total = await pipe.execute()
        return [history_entry(orjson.loads(entry)) for entry in raw], total

    async def leaderboard(self, year: int, size: int, member_id: str) -> BoardRead:
        boards = [keys.points_leaderboard(year, part) for part in range(keys.LEDGER_PARTITIONS)]
        return await read_leaderboard(self._redis, boards, size, member_id)

    async def tier_view(self, member_id: str) -> TierView:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.points_account(member_id), "tier", "tier_since", "review_on")
            pipe.hgetall(keys.spend_days(member_id))
            (tier, since, review_on), days = await pipe.execute()
        return TierView(tier=tier or "", since=datetime.fromisoformat(since) if since else None,
                        review_on=parse_day(review_on) if review_on else None,
                        days={parse_day(day): int(fen) for day, fen in days.items()})

    # -- member codes ------------------------------------------------------------------------------
    async def create_member_code(self, code: str, member_id: str, expires_at: datetime, ttl: timedelta) -> bool:
        value = orjson.dumps({"member_id": member_id, "expires_at": epoch_ms(expires_at)})
        return bool(await self._batcher.call("SET", keys.member_code(code), value, "NX", "EX", int(ttl.total_seconds())))

    async def use_member_code(self, code: str, txn_id: str, now: datetime) -> str | None:
        result = await self.scripts.run("member_code_use", [keys.member_code(code)], [txn_id, epoch_ms(now)])
        return result["member_id"] if result["ok"] else None

    async def peek_member_code(self, code: str, now: datetime) -> str | None:
        raw = await self._batcher.call("GET", keys.member_code(code))
        found = orjson.loads(raw) if raw else None
        return found["member_id"] if found and found["expires_at"] > epoch_ms(now) else None


def ledger_change(result: dict) -> LedgerChange:
    answer = result["answer"]
    return LedgerChange(answer["member_id"], answer["points"], answer["balance"], bool(result.get("replayed")))


def history_entry(raw: dict) -> HistoryEntry:
    return HistoryEntry(kind=raw["kind"], points=raw["points"], balance=raw["balance"], debt=raw["debt"],
                        ref=str(raw["ref"]), at=datetime.fromisoformat(raw["at"]), source=raw.get("source", ""))


def _ms(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def _score(epoch_ms_or_none: int) -> int | str:
    return epoch_ms_or_none if epoch_ms_or_none >= 0 else ""


def _holder(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    member_id, _, fingerprint = value.partition("|")
    return member_id, fingerprint
