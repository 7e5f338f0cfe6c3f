"""Campaigns in Redis: each campaign in its own slot (definition, assignments, counts, marks); the list of
campaigns and the schedule in `{campaigns}`; each member's campaigns (where their purchases count) in the
member's slot."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..campaigns import StoredCampaign
from ..clock import epoch_ms, from_epoch_ms
from .batching import pipelined
from .scripts import Scripts, refusal


LINK_TTL_SECONDS = 180 * 86400       # a tracked link works half a year


class RedisCampaignStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def create(self, campaign_id: str, fingerprint: str, body: dict, answer: dict, now: datetime,
                     status: str, due: datetime | None) -> tuple[bool, str, dict]:
        result = await self._scripts.run(
            "campaign_create", [keys.campaign(campaign_id), keys.CAMPAIGN_IDS, keys.CAMPAIGN_SCHEDULE],
            [campaign_id, fingerprint, orjson.dumps(body), orjson.dumps(answer), epoch_ms(now), status,
             epoch_ms(due) if due else ""])
        return result["created"], result["fingerprint"], orjson.loads(result["answer"])

    async def get(self, campaign_id: str) -> StoredCampaign | None:
        raw = await self._redis.hgetall(keys.campaign(campaign_id))
        if not raw:
            return None
        return StoredCampaign(campaign_id, orjson.loads(raw["body"]), raw["status"], int(raw["version"]),
                              int(raw.get("runs") or 0))

    async def recent(self, limit: int) -> list[StoredCampaign]:
        """The campaigns last created, newest first."""
        ids = await self._redis.zrevrange(keys.CAMPAIGN_IDS, 0, limit - 1)
        found = [await self.get(campaign_id) for campaign_id in ids]
        return [campaign for campaign in found if campaign is not None]

    async def move(self, campaign_id: str, allowed: tuple[str, ...], status: str,
                   next_due: datetime | None = None) -> bool:
        result = await self._scripts.run("campaign_status", [keys.campaign(campaign_id), keys.CAMPAIGN_SCHEDULE],
                                         [campaign_id, " ".join(allowed), status,
                                          epoch_ms(next_due) if next_due else ""])
        if not result["ok"]:
            raise refusal(result)
        return result["moved"]

    async def due_at(self, campaign_id: str) -> datetime | None:
        score = await self._redis.zscore(keys.CAMPAIGN_SCHEDULE, campaign_id)
        return None if score is None else from_epoch_ms(int(score))

    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        return await self._redis.zrangebyscore(keys.CAMPAIGN_SCHEDULE, "-inf", epoch_ms(now), start=0, num=limit)

    async def assign(self, campaign_id: str, arms: list[tuple[str, str]]) -> list[str]:
        result = await self._scripts.run(
            "campaign_assign", [keys.campaign_assignments(campaign_id), keys.campaign_counts(campaign_id)],
            [part for pair in arms for part in pair])
        return list(result["arms"])

    async def join_many(self, joins: list[tuple[str, str]], campaign_id: str, now: datetime, days: int) -> None:
        """Note in each (member_id, arm)'s slot that the member's purchases count for the campaign (the first
        note stays), in one pipeline."""
        at_ms = epoch_ms(now)
        await pipelined(self._redis, [("HSETNX", keys.member_campaigns(member_id), campaign_id,
                                       orjson.dumps({"arm": arm, "at_ms": at_ms, "days": days}))
                                      for member_id, arm in joins])

    async def joined(self, member_id: str) -> dict[str, dict]:
        raw = await self._redis.hgetall(keys.member_campaigns(member_id))
        return {campaign_id: orjson.loads(entry) for campaign_id, entry in raw.items()}

    async def mark(self, campaign_id: str, mark: str, counts: dict[str, int]) -> bool:
        result = await self._scripts.run(
            "campaign_mark", [keys.campaign_marks(campaign_id), keys.campaign_counts(campaign_id)],
            [mark, *(part for field, n in counts.items() for part in (field, n))])
        return result["counted"]

    async def unmark_spend(self, campaign_id: str, txn_id: str, refund_id: str, field: str, fen: int) -> bool:
        result = await self._scripts.run(
            "campaign_refund", [keys.campaign_marks(campaign_id), keys.campaign_counts(campaign_id)],
            [f"buy:{txn_id}", f"refund:{refund_id}", field, fen])
        return result["counted"]

    async def mark_many(self, campaign_id: str, marks: list[tuple[str, tuple[str, ...]]]) -> list[bool]:
        """`mark` of each (mark, count fields), counting 1 in each field, in one script."""
        if not marks:
            return []
        result = await self._scripts.run("campaign_marks", [keys.campaign_marks(campaign_id),
                                                            keys.campaign_counts(campaign_id)],
                                         [part for mark, fields in marks for part in (mark, ",".join(fields))])
        return list(result["counted"])

    async def counts(self, campaign_id: str) -> dict[tuple[str, str], int]:
        raw = await self._redis.hgetall(keys.campaign_counts(campaign_id))
        return {tuple(field.split("|", 1)): int(n) for field, n in raw.items()}

    async def save_links(self, links: dict[str, dict]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for token, link in links.items():
                pipe.set(keys.tracked_link(token), orjson.dumps(link), ex=LINK_TTL_SECONDS, nx=True)
            await pipe.execute()

    async def link(self, token: str) -> dict | None:
        raw = await self._redis.get(keys.tracked_link(token))
        return None if raw is None else orjson.loads(raw)

    async def arm_of(self, campaign_id: str, member_id: str) -> str | None:
        return await self._redis.hget(keys.campaign_assignments(campaign_id), member_id)
