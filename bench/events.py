"""Benchmark of sign-ups and a broadcast's preview: `make bench-events` (`python -m bench.events`).

Against a redis-server of its own (no AOF), through the real services, one process:
  (a) N members sign up at once for one event of C places (the sign-up script in the event's slot; the
      member's list after it), in waves of 500 concurrent callers;
  (b) a manager's broadcast preview over a community of N members: the planner's decision for each member
      on the facts read from their slot, recording nothing (chunks of 100 concurrent previews);
  (c) its 确认, which only records it (the reply's path), and the fan-out the broadcast consumer then runs:
      a push planned for each member (processor seconds of this process, and wall seconds).
Prints a table; writes bench/results/events.json.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import time
from collections import Counter
from datetime import timedelta

from bench.common import BENCH_PII_KEY, machine, private_redis, write_results
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core.clock import SystemClock
from loyalty_core.redis_store.communities import RedisCommunityStore
from loyalty_core.redis_store.connection import connect

WAVE = 500


async def members(services, count: int) -> list[str]:
    found = []
    for start in range(0, count, WAVE):
        joined = await asyncio.gather(*(services.members.follow(f"oBench{n:08d}", f"bench:{n}")
                                        for n in range(start, min(count, start + WAVE))))
        found += [result.member_id for result in joined]
    return found


async def sign_ups(services, member_ids: list[str], capacity: int) -> dict:
    now = services.clock.now()
    event = await services.events.publish({
        "event_id": "bench", "title": "压测活动", "place": "中庭", "capacity": capacity,
        "starts_at": (now + timedelta(days=3)).isoformat(), "ends_at": (now + timedelta(days=3, hours=2)).isoformat()})
    started, places = time.perf_counter(), []
    for start in range(0, len(member_ids), WAVE):
        places += await asyncio.gather(*(services.events.sign_up(m, event.number)
                                         for m in member_ids[start:start + WAVE]))
    elapsed = time.perf_counter() - started
    statuses = Counter(place.status for place in places)
    return {"sign_ups": len(places), "capacity": capacity, "confirmed": statuses["confirmed"],
            "waitlisted": statuses["waitlisted"], "seconds": round(elapsed, 3),
            "per_s": round(len(places) / elapsed, 1)}


async def preview(services, redis, member_ids: list[str]) -> dict:
    store = RedisCommunityStore(redis, services.scripts)
    await store.save("bench", "压测社群", "", 100, 100)
    for start in range(0, len(member_ids), WAVE):
        await asyncio.gather(*(store.join(m, "bench", 20) for m in member_ids[start:start + WAVE]))
    await store.add_manager("bench", "oBench00000000")
    started = time.perf_counter()
    draft = await services.broadcasts.prepare(member_ids[0], "oBench00000000", "压测社群 周六早上八点中庭集合")
    elapsed = time.perf_counter() - started
    return {"members": draft.audience.members, "mass": draft.audience.mass, "custom": draft.audience.custom,
            "later": draft.audience.later, "broadcast_id": draft.broadcast_id,
            "seconds": round(elapsed, 3), "per_s": round(draft.audience.members / elapsed, 1)}


async def confirm_and_fan_out(services, member_ids: list[str], broadcast_id: str) -> dict:
    """确认 (the reply's path: recorded, nothing sent) and the broadcast consumer's fan-out, each in this process's
    processor seconds and in wall seconds."""
    payload = {"broadcast_id": broadcast_id, "community_id": "bench", "text": "周六早上八点中庭集合"}
    timed = {}
    for step in ("confirm", "fan_out"):
        cpu, wall = time.process_time(), time.perf_counter()
        if step == "confirm":
            confirmed = await services.broadcasts.confirm(member_ids[0], "oBench00000000", payload)
        else:
            sent = await services.broadcasts.deliver(await services.broadcasts.facts_of(broadcast_id))
        timed[step] = {"cpu_seconds": round(time.process_time() - cpu, 4),
                       "seconds": round(time.perf_counter() - wall, 4)}
    return timed | {"members": confirmed.members, "planned": sent.audience.members}


async def run(count: int, capacity: int) -> dict:
    with private_redis() as url:
        redis = connect(url, max_connections=WAVE + 16)
        try:
            services = build_services(redis, SystemClock(), base64.b64decode(BENCH_PII_KEY), LogSmsSender())
            member_ids = await members(services, count)
            report = {"machine": machine(), "sign_ups": await sign_ups(services, member_ids, capacity),
                      "preview": await preview(services, redis, member_ids)}
            report["broadcast"] = await confirm_and_fan_out(services, member_ids, report["preview"]["broadcast_id"])
            return report
        finally:
            await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--capacity", type=int, default=500)
    args = parser.parse_args()
    report = asyncio.run(run(args.members, args.capacity))
    signed, previewed = report["sign_ups"], report["preview"]
    print(f"{'what':<34} {'count':>8} {'seconds':>9} {'per s':>10}")
    print(f"{'concurrent sign-ups (waves of 500)':<34} {signed['sign_ups']:>8} {signed['seconds']:>9} "
          f"{signed['per_s']:>10}   {signed['confirmed']} confirmed, {signed['waitlisted']} waitlisted")
    print(f"{'broadcast preview (planner)':<34} {previewed['members']:>8} {previewed['seconds']:>9} "
          f"{previewed['per_s']:>10}   {previewed['mass']} by mass send, {previewed['custom']} by message, "
          f"{previewed['later']} later (quiet hours)")
    cast = report["broadcast"]
    for step, what in (("confirm", "broadcast confirm (the reply)"), ("fan_out", "broadcast fan-out (consumer)")):
        print(f"{what:<34} {cast['members']:>8} {cast[step]['seconds']:>9} {'':>10}   "
              f"{cast[step]['cpu_seconds']} processor seconds in this process")
    write_results("events", report)


if __name__ == "__main__":
    main()
