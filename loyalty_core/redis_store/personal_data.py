"""A member's personal data in Redis: the member's own keys read whole (by their type), what other keys hold
of the member, and the erasure's steps: the copies elsewhere first (each idempotent, found from the profile,
which still names them), then one script in the member's slot."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import MALL_TZ
from ..personal_data import MemberKey
from .batching import pipelined
from .scripts import Scripts

STREAM_PAGE = 1000
SMS_LIMIT_DAYS = 2            # a number's daily counts outlive their day (members.NUMBER_LIMITS_TTL_SECONDS)


class RedisPersonalDataStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def profile(self, member_id: str) -> dict[str, str]:
        return await self._redis.hgetall(keys.member_profile(member_id))

    async def sections(self, member_id: str, member_keys: tuple[MemberKey, ...]) -> dict[str, Any]:
        names = [entry.key(member_id) for entry in member_keys]
        types = await pipelined(self._redis, [("TYPE", name) for name in names])
        values = await pipelined(self._redis, [_read(name, kind) for name, kind in zip(names, types)])
        return {entry.section: _decoded(kind, value)
                for entry, kind, value in zip(member_keys, types, values)}

    async def elsewhere(self, member_id: str, purchases: dict) -> dict[str, Any]:
        return {"event_places": await self._event_places(member_id),
                "survey_answers": await self._survey_answers(member_id, purchases),
                "suggestions": [fields async for _, fields in self._suggestions_of(member_id)]}

    async def erase_copies(self, member_id: str, profile: dict[str, str], now: datetime) -> dict[str, int]:
        removed = {"indexes": 0, "mass_batches": 0, "communities": 0, "feedback": 0, "survey_answers": 0,
                   "suggestions": 0}
        removed["indexes"] = await self._release_indexes(member_id, profile, now)
        removed["mass_batches"] = await self._scrub_mass_batches(member_id)
        removed["communities"] = await self._leave_communities(member_id, profile.get("openid", ""))
        removed["feedback"] = await self._scrub_feedback(member_id)
        purchases = await self._redis.hgetall(keys.member_purchases(member_id))
        removed["survey_answers"] = await self._scrub_survey_answers(member_id, purchases)
        removed["suggestions"] = await self._drop_suggestions(member_id)
        return removed

    async def erase_member(self, member_id: str, fields: tuple[str, ...], delete: tuple[str, ...],
                           now: datetime, reason: str) -> dict:
        return await self._scripts.run_or_refuse(
            "member_erase", [keys.member_profile(member_id), *delete],
            [now.isoformat(), reason, len(fields), *fields])

    # -- what other keys hold -----------------------------------------------------------------------------
    async def _event_places(self, member_id: str) -> list[dict]:
        places = []
        for event_id in sorted(await self._redis.smembers(keys.member_events(member_id))):
            seat, waiting, came, feedback, definition = await pipelined(self._redis, [
                ("ZSCORE", keys.event_seats(event_id), member_id), ("ZSCORE", keys.event_waitlist(event_id), member_id),
                ("SISMEMBER", keys.event_checked_in(event_id), member_id),
                ("HGET", keys.event_feedback(event_id), member_id), ("HGET", keys.EVENTS, event_id)])
            places.append({"event_id": event_id, "title": (_parsed(definition) or {}).get("title"),
                           "place": seat is not None, "waitlisted": waiting is not None, "came": bool(came),
                           "feedback": _parsed(feedback)})
        return places

    async def _survey_answers(self, member_id: str, purchases: dict) -> list[dict]:
        answers = []
        for txn_id, store_id in _stores_of(purchases):
            answer = _parsed(await self._redis.hget(keys.store_survey(store_id), txn_id))
            if isinstance(answer, dict) and answer.get("member_id") == member_id:
                answers.append({"txn_id": txn_id, "store_id": store_id, **answer})
        return answers

    async def _suggestions_of(self, member_id: str):
        start = "-"
        while True:
            page = await self._redis.xrange(keys.SUGGESTIONS, min=start, count=STREAM_PAGE)
            for entry_id, fields in page:
                if fields.get("member_id") == member_id:
                    yield entry_id, fields
            if len(page) < STREAM_PAGE:
                return
            start = "(" + page[-1][0]

    # -- erasure's steps elsewhere -----------------------------------------------------------------------
    async def _release_indexes(self, member_id: str, profile: dict[str, str], now: datetime) -> int:
        released = 0
        phone_hashes = {profile.get("phone_hash"),
                        await self._redis.hget(keys.phone_challenge(member_id), "phone_hash")} - {None, ""}
        index_keys = [keys.phone_index(h) for h in phone_hashes] + [keys.referral_phone(h) for h in phone_hashes]
        if profile.get("openid"):
            index_keys.append(keys.openid_index(profile["openid"]))
        for index_key in index_keys:
            result = await self._scripts.run("index_release", [index_key], [member_id])
            released += bool(result["released"])
        for phone_hash in phone_hashes:      # the number's SMS limits are named by its keyed hash
            days = [(now - timedelta(days=n)).astimezone(MALL_TZ).strftime("%Y%m%d") for n in range(SMS_LIMIT_DAYS)]
            await self._redis.delete(keys.phone_sms_last(phone_hash))
            for day in days:
                await self._redis.delete(keys.phone_sms_day(phone_hash, day))
        label = await self._redis.hget(keys.member_birthday(member_id), "label")
        if label:
            released += await self._redis.srem(keys.birthday_index(label), member_id)
        return released

    async def _scrub_mass_batches(self, member_id: str) -> int:
        batches = {record.get("batch") for record in map(_parsed, (await self._redis.hgetall(
            keys.member_pushes(member_id))).values()) if isinstance(record, dict)} - {None, ""}
        scrubbed = 0
        for batch_id in sorted(batches):
            result = await self._scripts.run("mass_batch_scrub", [keys.push_mass_batch(str(batch_id))], [member_id])
            scrubbed += result["scrubbed"]
        return scrubbed

    async def _leave_communities(self, member_id: str, openid: str) -> int:
        left = 0
        for community_id in await self._redis.smembers(keys.member_communities(member_id)):
            left += await self._redis.srem(keys.community_members(community_id), member_id)
        if openid:
            for community_id in await self._redis.hkeys(keys.COMMUNITIES):
                left += await self._redis.srem(keys.community_managers(community_id), openid)
        return left

    async def _scrub_feedback(self, member_id: str) -> int:
        scrubbed = 0
        for event_id in await self._redis.smembers(keys.member_events(member_id)):
            result = await self._scripts.run("json_field_clear", [keys.event_feedback(event_id)],
                                             [member_id, "comment", ""])
            scrubbed += result["cleared"]
        return scrubbed

    async def _scrub_survey_answers(self, member_id: str, purchases: dict) -> int:
        scrubbed = 0
        for txn_id, store_id in _stores_of(purchases):
            result = await self._scripts.run("json_field_clear", [keys.store_survey(store_id)],
                                             [txn_id, "comment", member_id])
            scrubbed += result["cleared"]
        return scrubbed

    async def _drop_suggestions(self, member_id: str) -> int:
        entry_ids = [entry_id async for entry_id, _ in self._suggestions_of(member_id)]
        return await self._redis.xdel(keys.SUGGESTIONS, *entry_ids) if entry_ids else 0


def _stores_of(purchases: dict) -> list[tuple[str, str]]:
    found = []
    for txn_id, raw in purchases.items():
        purchase = raw if isinstance(raw, dict) else _parsed(raw)
        if isinstance(purchase, dict) and purchase.get("store"):
            found.append((txn_id, str(purchase["store"])))
    return found


def _read(name: str, kind: str) -> tuple:
    return {"hash": ("HGETALL", name), "list": ("LRANGE", name, 0, -1), "set": ("SMEMBERS", name),
            "zset": ("ZRANGE", name, 0, -1, "WITHSCORES"), "string": ("GET", name)}.get(kind, ("EXISTS", name))


def _decoded(kind: str, value: Any) -> Any:
    if kind == "hash":
        return {field: _parsed(item) for field, item in value.items()}
    if kind == "list":
        return [_parsed(item) for item in value]
    if kind == "set":
        return sorted(value)
    if kind == "zset":
        return _zset(value)
    if kind == "string":
        return _parsed(value)
    return None


def _zset(value: Any) -> dict[str, float]:
    if value and isinstance(value[0], (list, tuple)):
        return {member: float(score) for member, score in value}
    return {value[i]: float(value[i + 1]) for i in range(0, len(value), 2)}


def _parsed(raw: Any) -> Any:
    if not isinstance(raw, str) or not raw[:1] in ("{", "["):
        return raw
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
