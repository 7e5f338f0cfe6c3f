"""Member events in Redis: definitions and the index by start in the `{events}` slot, each event's places,
waitlist, attendance and feedback in its own (`{ev:<id>}`), each member's events in the member's slot (a set
changed after the event's own step, idempotently)."""
from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms
from ..event_rules import MallEvent
from ..mall_events import Cancelled, EventCounts, Feedback, Place
from .scripts import Scripts


class RedisEventStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    # -- definitions ----------------------------------------------------------------------------------------
    async def save(self, event: MallEvent) -> MallEvent:
        result = await self._scripts.run_or_refuse(
            "event_save", [keys.EVENTS, keys.EVENT_NUMBERS, keys.EVENT_SEQ, keys.EVENTS_BY_START],
            [event.event_id, orjson.dumps(event.to_dict()).decode(),
             orjson.dumps(event.definition(), option=orjson.OPT_SORT_KEYS).decode(), event.starts_ms])
        return MallEvent.from_dict(result["event"])

    async def get(self, event_id: str) -> MallEvent | None:
        raw = await self._redis.hget(keys.EVENTS, event_id)
        return MallEvent.from_dict(orjson.loads(raw)["event"]) if raw else None

    async def by_number(self, number: int) -> MallEvent | None:
        event_id = await self._redis.hget(keys.EVENT_NUMBERS, str(number))
        return await self.get(event_id) if event_id else None

    async def starting_between(self, start: datetime, end: datetime, limit: int) -> list[MallEvent]:
        event_ids = await self._redis.zrangebyscore(keys.EVENTS_BY_START, epoch_ms(start), epoch_ms(end),
                                                    start=0, num=limit)
        if not event_ids:
            return []
        raw = await self._redis.hmget(keys.EVENTS, event_ids)
        return [MallEvent.from_dict(orjson.loads(value)["event"]) for value in raw if value]

    async def started_before(self, moment: datetime, limit: int) -> list[MallEvent]:
        event_ids = await self._redis.zrevrangebyscore(keys.EVENTS_BY_START, f"({epoch_ms(moment)}", "-inf",
                                                       start=0, num=limit)
        if not event_ids:
            return []
        raw = await self._redis.hmget(keys.EVENTS, event_ids)
        return [MallEvent.from_dict(orjson.loads(value)["event"]) for value in raw if value]

    # -- places -------------------------------------------------------------------------------------------------
    async def sign_up(self, event: MallEvent, member_id: str) -> Place:
        result = await self._scripts.run("event_signup", [
            keys.event_seats(event.event_id), keys.event_waitlist(event.event_id), keys.event_arrivals(event.event_id),
        ], [member_id, event.capacity])
        await self._redis.sadd(keys.member_events(member_id), event.event_id)
        return Place(event, result["status"], int(result.get("position", 0)), result["already"])

    async def cancel(self, event: MallEvent, member_id: str) -> Cancelled:
        result = await self._scripts.run_or_refuse("event_cancel", [
            keys.event_seats(event.event_id), keys.event_waitlist(event.event_id), keys.event_promoted(event.event_id),
        ], [member_id])
        await self._redis.srem(keys.member_events(member_id), event.event_id)
        return Cancelled(event, result["was"], result.get("promoted"))

    async def place_of(self, event: MallEvent, member_id: str) -> Place | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zscore(keys.event_seats(event.event_id), member_id)
            pipe.zrank(keys.event_waitlist(event.event_id), member_id)
            seat, rank = await pipe.execute()
        if seat is not None:
            return Place(event, "confirmed")
        return Place(event, "waitlisted", rank + 1) if rank is not None else None

    async def events_of(self, member_id: str) -> set[str]:
        return set(await self._redis.smembers(keys.member_events(member_id)))

    async def confirmed(self, event_id: str, cursor: int, count: int) -> tuple[int, list[str]]:
        cursor, found = await self._redis.zscan(keys.event_seats(event_id), cursor, count=count)
        return int(cursor), [member_id for member_id, _ in found]

    async def checked_in(self, event_id: str, cursor: int, count: int) -> tuple[int, list[str]]:
        cursor, found = await self._redis.sscan(keys.event_checked_in(event_id), cursor, count=count)
        return int(cursor), list(found)

    async def promoted(self, event_id: str) -> list[str]:
        return list(await self._redis.smembers(keys.event_promoted(event_id)))   # bounded by the capacity

    async def seats(self, event_id: str, limit: int) -> list[str]:
        return list(await self._redis.zrange(keys.event_seats(event_id), 0, limit - 1))

    async def waitlist(self, event_id: str, limit: int) -> list[str]:
        return list(await self._redis.zrange(keys.event_waitlist(event_id), 0, limit - 1))

    async def seats_taken(self, event_id: str) -> int:
        return await self._redis.zcard(keys.event_seats(event_id))

    # -- attendance and feedback --------------------------------------------------------------------------------
    async def check_in(self, event: MallEvent, member_id: str) -> bool:
        result = await self._scripts.run_or_refuse(
            "event_check_in", [keys.event_seats(event.event_id), keys.event_checked_in(event.event_id)], [member_id])
        return result["first"]

    async def attended(self, event_id: str, member_id: str) -> bool:
        return bool(await self._redis.sismember(keys.event_checked_in(event_id), member_id))

    async def record_feedback(self, event: MallEvent, member_id: str, feedback: Feedback) -> Feedback:
        result = await self._scripts.run_or_refuse(
            "event_feedback", [keys.event_feedback(event.event_id), keys.event_checked_in(event.event_id)],
            [member_id, orjson.dumps(feedback.to_dict()).decode(), feedback.score])
        return Feedback.from_dict(result["feedback"])

    async def feedback_entries(self, event_id: str, limit: int) -> list[tuple[str, Feedback]]:
        """At most `limit` answers (a scan of the event's hash, bounded by its checked-in members)."""
        found: list[tuple[str, Feedback]] = []
        async for member_id, raw in self._redis.hscan_iter(keys.event_feedback(event_id), count=200):
            if not member_id.startswith("_"):
                found.append((member_id, Feedback.from_dict(orjson.loads(raw))))
                if len(found) >= limit:
                    break
        return found

    async def gave_feedback(self, event_id: str, member_id: str) -> bool:
        return bool(await self._redis.hexists(keys.event_feedback(event_id), member_id))

    async def counts(self, event_id: str) -> EventCounts:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(keys.event_seats(event_id))
            pipe.zcard(keys.event_waitlist(event_id))
            pipe.scard(keys.event_checked_in(event_id))
            pipe.hmget(keys.event_feedback(event_id), ["_count", "_sum"])
            seats, waiting, came, (count, total) = await pipe.execute()
        return EventCounts(seats, waiting, came, int(count or 0), int(total or 0))
