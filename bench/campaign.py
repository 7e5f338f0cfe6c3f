"""A campaign to a large membership: `make bench-campaign` (python -m bench.campaign [members], default 1,000,000).

A private redis-server (AOF off) holds that many following members with their facts filed in the segment
indexes (made directly, not timed). Timed: one campaign of two variants and a 10% holdout to all of them — the
segment evaluated, each member assigned, a coupon issued and the text rendered with it for each member of a
variant, and the marketing push planned and queued to the outbox (a mass send, so each is queued at once),
split between processes as the scheduler does with CAMPAIGN_PROCESSES (this one and workers) — and the peak RSS
of this process and its workers together, and the processor seconds of all of them and of redis-server; then
the latency of segment previews at that size (each run 5 times, the median). Targets: the campaign under 2
minutes and 300 MB. Before the members are made and after the previews, a fixed piece of work is timed on the
same machine (bench/common.py, machine_reference): the shared machine's speed moves between sittings, and that
says at which speed the run was. `python -m bench.campaign [members] [processes]` (default 1,000,000 and 2).
Writes bench/results/campaign.json.
"""
from __future__ import annotations

import asyncio
import os
import random
import resource
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from bench.common import cpu_seconds, machine, machine_reference, private_redis, write_results
from bench.scans import rss_mb
from bot.campaign_shares import ProcessShares, ShareWorker
from bot.process import tune_collector
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core import keys
from loyalty_core.clock import MALL_TZ, ManualClock
from loyalty_core.member_facts import Facts
from loyalty_core.redis_store.connection import connect
from loyalty_core.redis_store.member_facts import RedisFactsStore
from loyalty_core.redis_store.scripts import Scripts
from loyalty_core.segments import parse_segment

KEY = b"b" * 32
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=MALL_TZ)
LIMIT_SECONDS, LIMIT_MB = 120, 300
FILL_BATCH = 5_000
CAMPAIGN = {"campaign_id": "bench", "name": "春季焕新", "kind": "marketing", "segment": {},
            "variants": [{"name": "A", "weight": Decimal("0.5"), "text": "{{ member.tier_name }}专享：{{ coupon.title }}",
                          "coupon_template": "tea-bogo"},
                         {"name": "B", "weight": Decimal("0.5"), "text": "{{ member.name }}，送您「{{ coupon.title }}」",
                          "coupon_template": "fashion-15"}],
            "holdout": Decimal("0.1"), "send_at": None, "repeat": None, "channels": {"mass_send": True},
            "conversion_days": 14}
PREVIEWS = {"all members": {}, "gold and up, active": {"tiers": ["gold", "platinum", "diamond"], "lifecycle": ["active"]},
            "dining lovers, 500+ spent, no coupon": {"preferred_category": "dining", "spend_12m_min": "500",
                                                     "lacks_coupon_template": "dining-200-30"},
            "dormant 90-180 days, birthday in May": {"days_since_purchase_min": 90, "days_since_purchase_max": 180,
                                                     "birthday_month": 5}}


def facts_of(rng: random.Random, member_id: str, today: date) -> Facts:
    last = today - timedelta(days=rng.randint(0, 400)) if rng.random() < 0.8 else None
    return Facts(member_id=member_id, tier=rng.choice(("member", "member", "gold", "platinum", "diamond")),
                 balance=rng.randint(0, 20_000), joined_on=today - timedelta(days=rng.randint(0, 1500)),
                 spend_12m_fen=rng.randint(0, 5_000_000) if last else 0, purchases_12m=rng.randint(1, 30) if last else 0,
                 first_purchase=last, last_purchase=last,
                 preferred_category=rng.choice(("dining", "fashion", "beauty", "")) if last else "",
                 spend_level=rng.choice(("high", "mid", "low")), stage="active" if last else "potential",
                 birthday_month=rng.randint(0, 12), next_change=today + timedelta(days=30))


async def fill(redis, members: int) -> None:
    """Following members, each with a profile, an openid and facts filed in the segment indexes."""
    store, rng, today = RedisFactsStore(redis, Scripts(redis)), random.Random(20260303), NOW.date()
    for start in range(0, members, FILL_BATCH):
        ids = [str(1_000_000 + n) for n in range(start, min(members, start + FILL_BATCH))]
        async with redis.pipeline(transaction=False) as pipe:
            for member_id in ids:
                pipe.hset(keys.member_profile(member_id), mapping={
                    "member_id": member_id, "openid": f"oBench{member_id}", "status": "subscribed",
                    "joined_at": NOW.isoformat(), "followed_at": NOW.isoformat()})
                pipe.set(keys.openid_index(f"oBench{member_id}"), member_id)
            await pipe.execute()
        for part in range(0, len(ids), 250):
            await asyncio.gather(*(store.write(facts_of(rng, member_id, today), 1, today, set())
                                   for member_id in ids[part:part + 250]))


def workers_rss_mb(redis_pid: int) -> float:
    """The resident memory of this process's children other than redis-server (the send's worker processes)."""
    total = 0.0
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as children:
            for pid in children.read().split():
                if int(pid) != redis_pid:
                    total += _rss_of(pid)
    return total


def _rss_of(pid: str) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmRSS")), 0) / 1024
    except FileNotFoundError:           # it ended meanwhile
        return 0.0


def children_cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


async def timed(job, redis_pid: int) -> tuple[dict, object]:
    """The job's wall seconds, peak RSS (this process and its workers) and the processor seconds of this process,
    its workers (counted once they have ended) and of redis-server."""
    peak = [rss_mb()]

    async def sample() -> None:
        while True:
            peak.append(rss_mb() + workers_rss_mb(redis_pid))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    started, cpu, redis_cpu = time.perf_counter(), time.process_time(), cpu_seconds(redis_pid)
    workers_cpu = children_cpu_seconds()
    try:
        result = await job()
    finally:
        seconds = time.perf_counter() - started
        sampler.cancel()
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(max(peak), 1),
            "cpu_seconds": round(time.process_time() - cpu + children_cpu_seconds() - workers_cpu, 1),
            "redis_cpu_seconds": round(cpu_seconds(redis_pid) - redis_cpu, 1),
            "load_average": [round(n, 2) for n in os.getloadavg()]}, result      # of 1, 5 and 15 minutes, at the end


async def previews(services) -> list[dict]:
    shown = []
    for name, raw in PREVIEWS.items():
        segment, runs = parse_segment(raw), []
        for _ in range(5):
            started = time.perf_counter()
            preview = await services.segments.preview(segment, NOW.date())
            runs.append(time.perf_counter() - started)
        shown.append({"segment": name, "count": preview.count, "median_ms": round(statistics.median(runs) * 1000)})
    return shown


async def run(members: int, processes: int) -> dict:
    with private_redis(with_pid=True) as (url, redis_pid):
        redis = connect(url, max_connections=512, socket_timeout=30)   # a busy shared machine stalls Redis for seconds
        worker = ShareWorker(url, KEY, fixed_now=NOW, socket_timeout=30)
        shares = ProcessShares(worker, processes) if processes > 1 else None
        services = build_services(redis, ManualClock(NOW), KEY, LogSmsSender(), campaign_shares=shares)
        before = machine_reference(url, redis_pid)
        started = time.perf_counter()
        await fill(redis, members)
        setup = round(time.perf_counter() - started, 1)
        await services.campaigns.create(CAMPAIGN)
        tune_collector()                         # as the scheduler's process (bot/process.py) has it
        measured, _ = await timed(lambda: services.campaigns.send("bench"), redis_pid)
        status = await services.campaigns.status("bench")
        queued = sum([await redis.xlen(keys.push_stream(p)) for p in range(8)])
        shown = await previews(services)
        await redis.aclose()
        after = machine_reference(url, redis_pid)
    seconds = measured["seconds"]
    return {"members": members, "processes": processes, "setup_seconds": setup, "campaign_seconds": seconds,
            "peak_rss_mb": measured["peak_rss_mb"], "campaign_cpu_seconds": measured["cpu_seconds"],
            "redis_cpu_seconds": measured["redis_cpu_seconds"],
            "cpu_us_per_member": round(measured["cpu_seconds"] / members * 1e6),
            "redis_us_per_member": round(measured["redis_cpu_seconds"] / members * 1e6),
            "load_average": measured["load_average"],
            "members_per_s": round(members / seconds), "audience": status["audience"], "holdout": status["holdout"],
            "planned": status["planned"], "queued_to_outbox": queued, "previews": shown,
            "machine_reference": {"before": before, "after": after}}


def table(report: dict) -> str:
    ok = report["campaign_seconds"] < LIMIT_SECONDS and report["peak_rss_mb"] < LIMIT_MB
    lines = [f"{report['members']:,} members (setup {report['setup_seconds']} s)",
             f"{'campaign: segment, assign, coupon, render, plan + queue':<56} {report['campaign_seconds']:>8} s "
             f"{report['peak_rss_mb']:>7} MB  within 2 min / 300 MB: {'yes' if ok else 'NO'}",
             f"  processor seconds: the {report['processes']} sending processes {report['campaign_cpu_seconds']}, "
             f"redis-server {report['redis_cpu_seconds']} (per member: {report['cpu_us_per_member']} and "
             f"{report['redis_us_per_member']} µs); load average {report['load_average']}",
             f"  audience {report['audience']:,}, holdout {report['holdout']:,}, planned {report['planned']:,}, "
             f"queued {report['queued_to_outbox']:,} ({report['members_per_s']:,} members/s)",
             "  machine reference (bench/common.py, before and after): Python "
             f"{_both(report, 'python_seconds')} s, redis-server {_both(report, 'redis_seconds')} s",
             f"{'segment preview':<44} {'members':>10} {'median ms':>10}"]
    lines += [f"{p['segment']:<44} {p['count']:>10,} {p['median_ms']:>10}" for p in report["previews"]]
    return "\n".join(lines)


def _both(report: dict, figure: str) -> str:
    return " / ".join(str(report["machine_reference"][when][figure]) for when in ("before", "after"))


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    report = asyncio.run(run(members, processes)) | {"machine": machine(),
                                                     "when": datetime.now(MALL_TZ).isoformat(timespec="seconds"),
                                                     "targets": {"seconds": LIMIT_SECONDS, "peak_rss_mb": LIMIT_MB}}
    print(table(report))
    write_results("campaign", report)


if __name__ == "__main__":
    main()
