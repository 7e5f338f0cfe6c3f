"""Coupons in Redis: each member's coupons in their slot; the code index, the expiry index, the
templates' issue counters and the admin-made templates have keys of their own (see keys.py)."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms
from .batching import pipelined
from .outbox import Outbox, event_body
from .scripts import Scripts, refusal


def _entry(member_id: str, code: str) -> str:
    return f"{member_id}:{code}"


def _issue_keys(member_id: str) -> list[str]:
    """coupon_issue's keys: the coupons, their counts, the issue ops and the member's outbox."""
    return [keys.member_coupons(member_id), keys.member_coupon_counts(member_id), keys.member_coupon_ops(member_id),
            keys.member_outbox(member_id)]


def _issue_args(coupon: dict, issue_key: str, per_member_limit: int, issued_at: str) -> list:
    """coupon_issue's arguments after the member id and the time: the coupon and its event, both as stored."""
    template = coupon["template"]
    data = {"template_id": template["id"], "kind": template["kind"], "title": template["title"],
            "expires_at": coupon["expires_at"], "source": coupon["source"], "code_tail": coupon["code"][-4:]}
    event_id = _event_id(coupon)
    return [issue_key, coupon["code"], orjson.dumps(coupon), template["id"], per_member_limit, event_id,
            event_body(event_id, "coupon_issued", coupon["member_id"], issued_at, data)]


def _event_id(coupon: dict) -> str:
    return f"coupon_issued:{coupon['member_id']}:{coupon['code']}"


class RedisCouponStore:
    def __init__(self, redis: Redis, scripts: Scripts, outbox: Outbox):
        self._redis = redis
        self._scripts = scripts
        self._outbox = outbox

    # -- templates made through the admin API ---------------------------------------------------------
    async def template_def(self, template_id: str) -> dict | None:
        raw = await self._redis.hget(keys.COUPON_TEMPLATES, template_id)
        return None if raw is None else orjson.loads(raw)

    async def add_template_def(self, template_id: str, raw: dict) -> bool:
        return bool(await self._redis.hsetnx(keys.COUPON_TEMPLATES, template_id, orjson.dumps(raw)))

    async def template_defs(self) -> list[dict]:
        return [orjson.loads(raw) for raw in (await self._redis.hgetall(keys.COUPON_TEMPLATES)).values()]

    async def issued_total(self, template_id: str) -> int:
        return int(await self._redis.hget(keys.coupon_template_issued(template_id), "count") or 0)

    # -- the cross-member steps of an issue -------------------------------------------------------------
    async def claim_total(self, template_id: str, claim: str, limit: int) -> bool:
        result = await self._scripts.run("coupon_total_claim", [keys.coupon_template_issued(template_id)],
                                         [claim, limit])
        return result["ok"]

    async def release_total(self, template_id: str, claim: str) -> None:
        await self._scripts.run("coupon_total_release", [keys.coupon_template_issued(template_id)], [claim])

    async def claim_code(self, code: str, member_id: str, expires_ms: int) -> bool:
        """Claim the code's index; pre-mark the expiry index (never later than the truth: an entry
        whose coupon was never written is dropped by the expiry job)."""
        call = self._scripts.batcher.call
        if not await call("SET", keys.coupon_index(code), member_id, "NX"):
            return False
        await call("ZADD", _expiry_index(member_id), expires_ms, _entry(member_id, code))
        return True

    async def claim_totals(self, template_id: str, claims: list[str], limit: int) -> list[bool]:
        results = await self._scripts.run_many(
            "coupon_total_claim", [([keys.coupon_template_issued(template_id)], [claim, limit]) for claim in claims])
        return [result["ok"] for result in results]

    async def claim_codes(self, claims: list[tuple[str, str, int]]) -> list[bool]:
        claimed = await pipelined(self._redis, [("SET", keys.coupon_index(code), member_id, "NX")
                                                for code, member_id, _ in claims])
        entries: dict[str, list] = {}
        for (code, member_id, expires_ms), ok in zip(claims, claimed):
            if ok:
                entries.setdefault(_expiry_index(member_id), []).extend((expires_ms, _entry(member_id, code)))
        await pipelined(self._redis, [("ZADD", index, *parts) for index, parts in entries.items()])
        return [bool(ok) for ok in claimed]

    async def release_code(self, code: str, member_id: str) -> None:
        await self._scripts.run("index_release", [keys.coupon_index(code)], [member_id])
        await self._redis.zrem(_expiry_index(member_id), _entry(member_id, code))

    # -- the member's coupons ---------------------------------------------------------------------------
    async def issue(self, member_id: str, coupon: dict, issue_key: str, per_member_limit: int,
                    now: datetime) -> str:
        result = await self._member_change(member_id, now, "coupon_issue", _issue_keys(member_id)[:3],
                                           _issue_args(coupon, issue_key, per_member_limit, now.isoformat()))
        return result["code"]

    async def issue_many(self, coupons: list[tuple[dict, str]], per_member_limit: int,
                         now: datetime) -> list[str | None]:
        """`issue` for a batch of members: the outbox marks, then one script per member, then the relays of the
        events the scripts stored (each as this side made it)."""
        member_ids = [coupon["member_id"] for coupon, _ in coupons]
        marks = await self._outbox.mark_many(member_ids, now)
        issued_at = now.isoformat()
        calls = [(_issue_keys(coupon["member_id"]), [coupon["member_id"], issued_at,
                                                     *_issue_args(coupon, issue_key, per_member_limit, issued_at)])
                 for coupon, issue_key in coupons]
        results = await self._scripts.run_many("coupon_issue", calls)
        await self._outbox.relay_emitted([(coupon["member_id"], args[7], "coupon_issued", args[8])
                                          for (coupon, _), (_, args), result in zip(coupons, calls, results)
                                          if result["ok"] and not result["replayed"]], marks)
        answers = []
        for result in results:
            if result["ok"]:
                answers.append(result["code"])
            elif result["error"] == "coupon_limit_reached":
                answers.append(None)
            else:
                raise refusal(result)
        return answers

    async def issued_codes(self, wanted: list[tuple[str, str]]) -> list[str | None]:
        return await pipelined(self._redis, [("HGET", keys.member_coupon_ops(member_id), f"issue:{issue_key}")
                                             for member_id, issue_key in wanted])

    async def coupons_by_code(self, wanted: list[tuple[str, str]]) -> list[dict | None]:
        found = await pipelined(self._redis, [("HGET", keys.member_coupons(member_id), code)
                                              for member_id, code in wanted])
        return [None if raw is None else orjson.loads(raw) for raw in found]

    async def issued_code(self, member_id: str, issue_key: str) -> str | None:
        return await self._scripts.batcher.call("HGET", keys.member_coupon_ops(member_id), f"issue:{issue_key}")

    async def use(self, member_id: str, code: str, txn_id: str, answer: dict, now: datetime) -> dict:
        result = await self._member_change(member_id, now, "coupon_use", [keys.member_coupons(member_id)],
                                           [code, txn_id, orjson.dumps(answer), epoch_ms(now)])
        await self._redis.zrem(_expiry_index(member_id), _entry(member_id, code))
        return orjson.loads(result["answer"])

    async def expire(self, member_id: str, code: str, now: datetime) -> bool:
        result = await self._member_change(member_id, now, "coupon_expire", [keys.member_coupons(member_id)],
                                           [code, epoch_ms(now)])
        if result["settled"]:
            await self._redis.zrem(_expiry_index(member_id), _entry(member_id, code))
        return result["expired"]

    async def revoke(self, member_id: str, code: str, now: datetime) -> None:
        await self._member_change(member_id, now, "coupon_revoke", [keys.member_coupons(member_id)], [code])
        await self._redis.zrem(_expiry_index(member_id), _entry(member_id, code))

    async def _member_change(self, member_id: str, now: datetime, script: str, member_keys: list[str],
                             args: list) -> dict:
        """Mark the member's outbox, run the script in the member's slot, relay its events; a refusal raises
        its domain error (after the relay: a refusal emits nothing, but an earlier crash may have left events).
        Every such script takes KEYS = [..member keys, outbox] and ARGV = [member_id, now (iso), ..args]."""
        await self._outbox.mark(member_id, now)
        result = await self._scripts.run(script, [*member_keys, keys.member_outbox(member_id)],
                                         [member_id, now.isoformat(), *args])
        await self._outbox.relay(member_id)
        if not result["ok"]:
            raise refusal(result)
        return result

    # -- reads ------------------------------------------------------------------------------------------
    async def coupon(self, member_id: str, code: str) -> dict | None:
        raw = await self._scripts.batcher.call("HGET", keys.member_coupons(member_id), code)
        return None if raw is None else orjson.loads(raw)

    async def coupons(self, member_id: str) -> list[dict]:
        return [orjson.loads(raw) for raw in (await self._redis.hgetall(keys.member_coupons(member_id))).values()]

    async def owner(self, code: str) -> str | None:
        return await self._redis.get(keys.coupon_index(code))

    async def expiring_between(self, start: datetime, end: datetime) -> list[tuple[str, str]]:
        """(member_id, code) of the issued coupons whose validity ends after `start` and by `end`."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in range(keys.COUPON_EXPIRY_PARTITIONS):
                pipe.zrangebyscore(keys.coupon_expiry_index(partition), f"({epoch_ms(start)}", epoch_ms(end))
            parts = await pipe.execute()
        return [tuple(entry.split(":", 1)) for entries in parts for entry in entries]

    index_partitions = keys.COUPON_EXPIRY_PARTITIONS

    async def due(self, until: datetime, partition: int, offset: int, limit: int) -> list[str]:
        return await self._redis.zrangebyscore(keys.coupon_expiry_index(partition), "-inf", epoch_ms(until),
                                               start=offset, num=limit)


def _expiry_index(member_id: str) -> str:
    return keys.coupon_expiry_index(keys.coupon_expiry_partition(member_id))
