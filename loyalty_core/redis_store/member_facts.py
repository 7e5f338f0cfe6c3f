"""Member facts in Redis: read from the member's own records at one moment, written to the member's facts hash,
then filed in the segment indexes (a slot per bucket, `{seg:<bucket>}`), which `evaluate` intersects.

Two steps, each one script: the facts in the member's slot, then the indexes. Both carry the snapshot's time
(Redis time, µs, read in the same MULTI as the records), and each refuses an older snapshot than the one it
holds, so two writers in any order leave the newest facts, and a sync a crash cut short is repaired by the next
write or the daily job (every sync carries the member's whole state).
"""
from __future__ import annotations

import contextlib
import secrets
from datetime import date, datetime
from typing import AsyncIterator

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import MALL_TZ, epoch_ms
from ..member_facts import Facts, FactsSource, Purchase, TextFacts
from ..segment_rules import Clause, SpendCutoffs
from .batching import pipelined
from .scripts import Scripts

SCRATCH_TTL_SECONDS = 600
SCORES = ("spend", "balance", "purchases", "last_purchase", "joined")
TEXT_FIELDS = ("stage", "tier", "balance", "category")         # TextFacts, in the order of HMGET's answer


def _day(value: str) -> date | None:
    return date.fromordinal(int(value)) if value else None


def _ordinal(day: date | None) -> str:
    return str(day.toordinal()) if day else ""


def encode(facts: Facts) -> dict[str, str]:
    """The facts hash's fields (all text)."""
    return {"tier": facts.tier, "balance": str(facts.balance), "joined": _ordinal(facts.joined_on),
            "spend": str(facts.spend_12m_fen), "purchases": str(facts.purchases_12m),
            "first": _ordinal(facts.first_purchase), "last": _ordinal(facts.last_purchase),
            "category": facts.preferred_category, "level": facts.spend_level, "stage": facts.stage,
            "lapsing": "1" if facts.lapsing else "0", "high_value": "1" if facts.high_value else "0",
            "bmonth": str(facts.birthday_month), "coupons": " ".join(sorted(facts.coupon_templates)),
            "next": _ordinal(facts.next_change), "following": "1" if facts.following else "0",
            "phone": "1" if facts.phone_bound else "0"}


def decode(member_id: str, raw: dict) -> Facts:
    return Facts(member_id=member_id, tier=raw["tier"], balance=int(raw["balance"]), joined_on=_day(raw["joined"]),
                 spend_12m_fen=int(raw["spend"]), purchases_12m=int(raw["purchases"]), first_purchase=_day(raw["first"]),
                 last_purchase=_day(raw["last"]), preferred_category=raw["category"], spend_level=raw["level"],
                 stage=raw["stage"], lapsing=raw["lapsing"] == "1", high_value=raw["high_value"] == "1",
                 birthday_month=int(raw["bmonth"]), coupon_templates=frozenset(raw["coupons"].split()),
                 next_change=_day(raw["next"]), following=raw.get("following", "1") == "1",
                 phone_bound=raw.get("phone") == "1")


def filed_in(facts: Facts) -> list[str]:
    """The index sets the member belongs in, as "<index>:<value>"."""
    sets = [f"tier:{facts.tier}", f"stage:{facts.stage}", f"level:{facts.spend_level}"]
    sets += ["stage:lapsing"] if facts.lapsing else []
    sets += [f"category:{facts.preferred_category}"] if facts.preferred_category else []
    sets += [f"birthday_month:{facts.birthday_month}"] if facts.birthday_month else []
    sets += [f"coupon:{template}" for template in sorted(facts.coupon_templates)]
    sets += ["following:1"] if facts.following else []
    sets += ["phone:1"] if facts.phone_bound else []
    return sets


def scores_of(facts: Facts) -> list[str]:
    bought = facts.last_purchase is not None
    return [str(facts.spend_12m_fen), str(facts.balance), str(facts.purchases_12m),
            _ordinal(facts.last_purchase) if bought else "", _ordinal(facts.joined_on)]


class RedisFactsStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    # -- the member's records, at one moment ----------------------------------------------------------------
    async def source(self, member_id: str, birthday_month: int, now: datetime) -> tuple[FactsSource, int] | None:
        """The records the facts are made of and the snapshot's time (µs, Redis time: it orders writers, while
        `now` judges the coupons' validity); None for no such member."""
        read = await self._scripts.run("member_facts_source", [
            keys.member_profile(member_id), keys.points_account(member_id), keys.member_purchases(member_id),
            keys.member_coupons(member_id)])
        if not read["joined_at"]:
            return None
        now_ms = epoch_ms(now)
        held = frozenset(c["template"]["id"] for c in map(orjson.loads, read["coupons"])
                         if c["status"] == "issued" and c["expires_ms"] > now_ms)
        joined = _local_day(read["joined_at"])
        source = FactsSource(member_id=member_id, joined_on=joined, tier=read["tier"] or "",
                             balance=int(read["balance"] or 0),
                             purchases=tuple(_purchase(orjson.loads(raw)) for raw in read["purchases"]),
                             earlier=tuple(_calendar_day(d) for d in (read["earlier_first"], read["earlier_last"]) if d),
                             coupon_templates=held, birthday_month=birthday_month,
                             following=read["status"] == "subscribed", phone_bound=bool(read["phone_hash"]))
        return source, read["seconds"] * 1_000_000 + read["micros"]

    async def write(self, facts: Facts, snapshot: int, today: date, care: set[str]) -> list[str]:
        """Write the facts and file them; returns the transitions (stages entered, `lapsing`) this write made.
        A transition into a stage of `care` is noted as care due (`care_due`)."""
        written = await self._scripts.run("member_facts_write", [keys.member_facts(facts.member_id)],
                                          [snapshot, today.toordinal(), orjson.dumps(encode(facts))])
        if not written["applied"]:
            return []
        transitions = list(written["transitions"])
        due = [stage for stage in transitions if stage in care]
        care_due = f"{due[-1]}:{written['since']}" if due else ""
        await self.file(facts, snapshot, care_due)
        return transitions

    async def file(self, facts: Facts, snapshot: int, care_due: str = "") -> None:
        bucket = keys.segment_bucket(facts.member_id)
        prefix = keys.segment_set_prefix(bucket)
        sets = [f"{name}:{bucket}" for name in filed_in(facts)]
        await self._scripts.run(
            "segment_index_sync",
            [keys.segment_versions(bucket), keys.segment_state(bucket), keys.segment_all(bucket),
             keys.segment_due(bucket), keys.segment_care_due(bucket), keys.segment_totals(bucket),
             *(prefix + name for name in sets), *(keys.segment_scores(index, bucket) for index in SCORES)],
            [facts.member_id, snapshot, len(sets), " ".join(sets), prefix, _ordinal(facts.next_change),
             care_due, *scores_of(facts)])

    # -- spend levels by percentile -------------------------------------------------------------------------
    async def spend_cutoffs(self) -> SpendCutoffs | None:
        high, mid = await self._redis.hmget(keys.SEGMENT_SPEND_CUTOFFS, "high", "mid")
        return SpendCutoffs(int(high), int(mid)) if high is not None and mid is not None else None

    async def save_spend_cutoffs(self, cutoffs: SpendCutoffs) -> None:
        await self._redis.hset(keys.SEGMENT_SPEND_CUTOFFS, mapping={"high": cutoffs.high_fen, "mid": cutoffs.mid_fen})

    async def spenders(self) -> int:
        return sum(await self._per_bucket(lambda pipe, z: pipe.zcount(z, "(0", "+inf")))

    async def spend_at_rank(self, rank: int) -> int:
        """The 12-month spend (fen) of the member ranked `rank` by spend (1 = most): the least spend s such that
        fewer than `rank` members spent more than s, found by halving over the spend indexes' counts."""
        tops = await self._per_bucket(lambda pipe, z: pipe.zrange(z, -1, -1, withscores=True))
        low, high = 0, max((int(score) for top in tops for _, score in top), default=0)
        while low < high:
            middle = (low + high) // 2
            above = sum(await self._per_bucket(lambda pipe, z: pipe.zcount(z, f"({middle}", "+inf")))
            low, high = (middle + 1, high) if above >= rank else (low, middle)
        return low

    async def members_spending_between(self, low: int, high: int) -> list[str]:
        """The members whose 12-month spend (fen) is in [low, high]."""
        found = await self._per_bucket(lambda pipe, z: pipe.zrangebyscore(z, low, high))
        return [member_id for bucket in found for member_id in bucket]

    async def _per_bucket(self, command) -> list:
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(keys.SEGMENT_BUCKETS):
                command(pipe, keys.segment_scores("spend", bucket))
            return await pipe.execute()

    # -- reading --------------------------------------------------------------------------------------------
    async def facts(self, member_id: str) -> Facts | None:
        raw = await self._scripts.batcher.call("HGETALL", keys.member_facts(member_id))
        return decode(member_id, raw) if raw.get("stage") else None

    async def text_facts_many(self, member_ids: list[str]) -> list[TextFacts | None]:
        raws = await pipelined(self._redis, [("HMGET", keys.member_facts(m), *TEXT_FIELDS) for m in member_ids])
        return [TextFacts(tier, int(balance), category, stage) if stage else None
                for stage, tier, balance, category in raws]

    async def communities(self, member_id: str) -> frozenset[str]:
        return frozenset(await self._redis.smembers(keys.member_communities(member_id)))

    async def due(self, today: date, limit: int) -> list[str]:
        """The `limit` members whose facts change earliest by today with no event, over every bucket."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(keys.SEGMENT_BUCKETS):
                pipe.zrangebyscore(keys.segment_due(bucket), "-inf", today.toordinal(), start=0, num=limit,
                                   withscores=True)
            found = sorted((entry for part in await pipe.execute() for entry in part), key=lambda e: (e[1], e[0]))
        return [member_id for member_id, _ in found[:limit]]

    async def care_due(self, cursor: int, count: int) -> tuple[int, dict[str, str]]:
        """A page of the care due, bucket by bucket: the cursor carries the bucket (cursor % buckets) and the
        bucket's own HSCAN cursor; 0 again once the last bucket is done."""
        bucket, inner = cursor % keys.SEGMENT_BUCKETS, cursor // keys.SEGMENT_BUCKETS
        inner, found = await self._redis.hscan(keys.segment_care_due(bucket), inner, count=count)
        if inner == 0:
            bucket += 1
            if bucket == keys.SEGMENT_BUCKETS:
                return 0, found
        return inner * keys.SEGMENT_BUCKETS + bucket, found

    async def care_given(self, member_id: str, transition: str) -> None:
        await self._scripts.run("hash_forget_if", [keys.segment_care_due(keys.segment_bucket(member_id))],
                                [member_id, transition])

    # -- segments -------------------------------------------------------------------------------------------
    async def evaluate(self, clauses: list[Clause], sample: int = 0) -> tuple[int, list[str]]:
        """How many members match and the first `sample` of them by id, a bucket at a time."""
        count, found = 0, []
        async with self._evaluation(clauses) as run:
            for bucket in range(keys.SEGMENT_BUCKETS):
                matched, first = await run(bucket, max(sample, 1), keep=False)
                count += matched
                found = sorted(found + first)[:sample]
        return count, found

    async def members_of(self, clauses: list[Clause], batch: int) -> AsyncIterator[list[str]]:
        """The members who match, a batch at a time, bucket by bucket (each bucket as it is when reached)."""
        async with self._evaluation(clauses) as run:
            for bucket in range(keys.SEGMENT_BUCKETS):
                matched, _ = await run(bucket, 1, keep=True)
                kept = keys.segment_scratch(run.token, bucket)
                for offset in range(0, matched, batch):
                    yield await self._redis.zrange(kept, offset, offset + batch - 1)
                await self._redis.delete(kept)

    @contextlib.asynccontextmanager
    async def _evaluation(self, clauses: list[Clause]):
        token = secrets.token_hex(8)
        copies = [(i, clause) for i, clause in enumerate(clauses) if clause.index == "community"]
        for i, clause in copies:
            await self._copy_communities(clause.values, f"{token}:c{i}")

        async def run(bucket: int, sample: int, keep: bool) -> tuple[int, list[str]]:
            plan, named = [], []
            for i, clause in enumerate(clauses):
                if clause.index == "community":
                    names = [keys.segment_scratch(f"{token}:c{i}", bucket)]
                elif clause.op == "range":
                    names = [keys.segment_scores(clause.index, bucket)]
                else:
                    names = [keys.segment_set(clause.index, value, bucket) for value in clause.values]
                named += names
                low, high = clause.values if clause.op == "range" else (None, None)
                plan.append({"op": clause.op, "keys": names, "low": low, "high": high})
            result = keys.segment_scratch(token, bucket)
            answer = await self._scripts.run("segment_evaluate", [result, keys.segment_all(bucket), *named],
                                             [orjson.dumps(plan), SCRATCH_TTL_SECONDS, sample])
            if not keep:
                await self._redis.delete(result)
            return answer["count"], list(answer["sample"])
        run.token = token
        try:
            yield run
        finally:
            scratch = [keys.segment_scratch(f"{token}:c{i}", b) for i, _ in copies for b in range(keys.SEGMENT_BUCKETS)]
            if scratch:
                await self._redis.delete(*scratch)      # redis-py sends one DEL per slot on a cluster

    async def _copy_communities(self, communities: tuple, name: str) -> None:
        """The members of the communities (each its own slot) copied into the segment's scratch, by bucket."""
        for community in communities:
            async for chunk in _chunks(self._redis.sscan_iter(keys.community_members(community), count=1000)):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for member_id in chunk:
                        target = keys.segment_scratch(name, keys.segment_bucket(member_id))
                        pipe.sadd(target, member_id)
                        pipe.expire(target, SCRATCH_TTL_SECONDS)
                    await pipe.execute()

    async def following(self) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            for bucket in range(keys.SEGMENT_BUCKETS):
                pipe.scard(keys.segment_set("following", "1", bucket))
            return sum(await pipe.execute())


async def _chunks(items, size: int = 1000):
    chunk = []
    async for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _purchase(record: dict) -> Purchase:
    return Purchase(_calendar_day(record["day"]), int(record["amount"]) - int(record.get("refunded") or 0), record.get("cat") or "")


def _calendar_day(yyyymmdd: str | int) -> date:
    day = str(yyyymmdd)
    return date(int(day[:4]), int(day[4:6]), int(day[6:8]))


def _local_day(moment_iso: str) -> date:
    return datetime.fromisoformat(moment_iso).astimezone(MALL_TZ).date()
