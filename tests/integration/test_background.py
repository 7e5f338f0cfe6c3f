"""The web process's background housekeeping: it survives a failing round and relays orphaned events."""
import asyncio

from bot.events import every
from tests.polling import until


async def test_a_failing_round_does_not_stop_the_loop():
    stop, rounds = asyncio.Event(), []

    async def job():
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("first round fails")
        stop.set()

    await asyncio.wait_for(every(0.001, job, stop), timeout=5)
    assert rounds == [0, 1]


async def test_events_a_crashed_process_left_behind_are_relayed_at_start(start_bot, redis, clock):
    await redis.zadd("outbox:dirty", {"100007": int(clock.now().timestamp() * 1000)})
    await redis.hset("{m:100007}:outbox", "orphan:1",
                     '{"event_id": "orphan:1", "type": "points_earned", "occurred_at": "2026-01-15T10:00:00+08:00"}')
    clock.advance(minutes=1)
    await start_bot(background=True)

    async def relayed():
        return [fields["event_id"] for _, fields in await redis.xrange("outbox:events")]
    assert await until(relayed) == ["orphan:1"]
    assert await redis.hlen("{m:100007}:outbox") == 0
