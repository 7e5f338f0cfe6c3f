"""Surveys after purchases in Redis: what is due in the `{survey}` slot, the question open to a member in the
member's slot, the answers and results of a store in the store's (`{sv:<store_id>}`)."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms
from ..surveys import Asked, StoreAnswer, StoreResults
from .scripts import Scripts


class RedisSurveyStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def file(self, member_id: str, txn_id: str, store_id: str, due: datetime) -> None:
        await self._scripts.run("survey_file", [keys.SURVEYS_DUE, keys.SURVEYS_FILED], [
            member_id, orjson.dumps({"txn_id": txn_id, "store_id": store_id}).decode(), epoch_ms(due)])

    async def due(self, now: datetime, limit: int) -> list[tuple[str, str, str]]:
        member_ids = await self._redis.zrangebyscore(keys.SURVEYS_DUE, "-inf", epoch_ms(now), start=0, num=limit)
        if not member_ids:
            return []
        found = []
        for member_id, raw in zip(member_ids, await self._redis.hmget(keys.SURVEYS_FILED, member_ids)):
            if raw:
                purchase = orjson.loads(raw)
                found.append((member_id, purchase["txn_id"], purchase["store_id"]))
        return found

    async def asked(self, member_id: str, asked: Asked) -> None:
        await self._scripts.run("survey_ask", [keys.member_survey(member_id)],
                                [asked.txn_id, asked.store_id, asked.asked_at.isoformat()])

    async def unfile(self, member_id: str, txn_id: str) -> None:
        await self._scripts.run("survey_unfile", [keys.SURVEYS_DUE, keys.SURVEYS_FILED], [member_id, txn_id])

    async def open_question(self, member_id: str) -> Asked | None:
        raw = await self._redis.hgetall(keys.member_survey(member_id))
        return Asked(raw["txn_id"], raw["store_id"], datetime.fromisoformat(raw["asked_at"])) if raw else None

    async def record(self, member_id: str, asked: Asked, score: int, comment: str, at: datetime) -> None:
        answer = {"member_id": member_id, "score": score, "comment": comment, "at": at.isoformat()}
        await self._scripts.run("survey_answer", [keys.store_survey(asked.store_id)],
                                [asked.txn_id, orjson.dumps(answer).decode(), score])
        await self._scripts.run("survey_close", [keys.member_survey(member_id)], [asked.txn_id])

    async def results(self, store_id: str) -> StoreResults:
        count, total = await self._redis.hmget(keys.store_survey(store_id), ["_count", "_sum"])
        return StoreResults(store_id, int(count or 0), int(total or 0))

    async def answers(self, store_id: str, limit: int) -> list[StoreAnswer]:
        found: list[StoreAnswer] = []
        async for txn_id, raw in self._redis.hscan_iter(keys.store_survey(store_id), count=200):
            if not txn_id.startswith("_"):
                answer = orjson.loads(raw)
                found.append(StoreAnswer(txn_id, answer["member_id"], int(answer["score"]), answer.get("comment", ""),
                                         answer["at"]))
                if len(found) >= limit:
                    break
        return found
