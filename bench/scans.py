"""The scheduler's daily scans over a large membership: points expiry, expiry warnings, tier reviews and the
birthday greetings, each visiting only the members due that day through its index.

`python -m bench.scans [members]` (default 1,000,000): a private redis-server holds that many members in the
indexes the scans read. A day's share of them (1 in 365) is really due: they bought a year ago (so a lot
expires and an upgrade is reviewed today, and a warning is due 30 days before) and were born on this day;
they are made through the services, on a clock a year back. The others are entries in the same indexes,
due on other days, that a scan must never visit. Each scan runs on its own, timed, in this process; its
peak memory is the process's growth while it runs. Targets: each scan under 2 minutes and 300 MB, and every
scan visits exactly the members due.
"""
from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal

from bench.common import machine, private_redis, write_results
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core import keys
from loyalty_core.birthday import BirthdaySeal
from loyalty_core.birthday_calendar import labels_on
from loyalty_core.clock import MALL_TZ, ManualClock, epoch_ms
from loyalty_core.points import Purchase
from loyalty_core.redis_store.connection import connect

KEY = b"b" * 32
TODAY = datetime(2027, 3, 15, 0, 10, tzinfo=MALL_TZ)
A_YEAR_AGO = datetime(2026, 3, 15, 10, 0, tzinfo=MALL_TZ)
LIMIT_SECONDS, LIMIT_MB = 120, 300
FILL_BATCH = 10_000


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


async def make_due_members(services, clock: ManualClock, count: int) -> list[str]:
    """Members who bought CNY 60,000 a year ago (gold, reviewed today; a lot expiring today), born on this day."""
    clock.set(A_YEAR_AGO)
    made = []
    for start in range(0, count, 100):
        async def one(n: int) -> str:
            member_id = (await services.members.follow(f"o_due_{n}", f"evt:due:{n}")).member_id
            await services.points.purchase(member_id, Purchase(f"T-due-{n}", Decimal(60000), A_YEAR_AGO), f"fp-{n}")
            proposal = await services.birthdays.propose(member_id, f"{1960 + n % 40}-03-15", "solar")
            await services.birthdays.confirm(member_id, proposal.sealed, f"op-due-{n}")
            return member_id
        made += await asyncio.gather(*(one(n) for n in range(start, min(count, start + 100))))
    return made


async def fill_the_indexes(redis, services, count: int) -> None:
    """`count` members in the same indexes, due on any other day of the coming year (never today)."""
    rng = random.Random(20270315)
    seal = BirthdaySeal(services.pii)
    other_labels = [seal.label(label)
                    for day in (TODAY.date() + timedelta(days=n) for n in range(1, 366)) for label in labels_on(day)]
    for start in range(0, count, FILL_BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(count, start + FILL_BATCH)):
                member_id = str(9_000_000 + n)
                later = TODAY + timedelta(days=rng.randint(35, 364), minutes=rng.randint(0, 1439))
                part = keys.ledger_partition(member_id)
                pipe.zadd(keys.points_expiry_index(part), {member_id: epoch_ms(later)})
                pipe.zadd(keys.points_warn_index(part), {member_id: epoch_ms(later)})
                pipe.zadd(keys.tier_review_index(part), {member_id: int(later.strftime("%Y%m%d"))})
                pipe.sadd(keys.birthday_index(rng.choice(other_labels)), member_id)
            await pipe.execute()


async def timed(name: str, scan) -> dict:
    """The scan's time, the members it visited, and the process's peak memory growth while it ran (sampled)."""
    before, peak = rss_mb(), [rss_mb()]

    async def sample() -> None:
        while True:
            peak.append(rss_mb())
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    try:
        visited = await scan()
    finally:
        seconds = time.perf_counter() - started
        sampler.cancel()
    return {"scan": name, "visited": visited, "seconds": round(seconds, 2),
            "rss_growth_mb": round(max(max(peak) - before, 0), 1), "rss_mb": round(max(peak), 1)}


async def run(members: int) -> dict:
    with private_redis() as url:
        redis = connect(url)
        clock = ManualClock(A_YEAR_AGO)
        services = build_services(redis, clock, KEY, LogSmsSender())
        due_count = max(1, members // 365)
        started = time.perf_counter()
        await make_due_members(services, clock, due_count)
        await fill_the_indexes(redis, services, members - due_count)
        filled = time.perf_counter() - started
        await services.outbox.sweep(clock.now(), older_than_ms=0)

        clock.set(TODAY - timedelta(days=20))
        scans = [await timed("expiry warnings (30 days ahead)", lambda: services.points.warn_expiring())]
        clock.set(TODAY.replace(hour=9))
        scans.append(await timed("birthday greetings (with the gift)", lambda: birthday_count(services)))
        clock.set(TODAY.replace(hour=9, minute=30))
        scans.append(await timed("tier review", lambda: review_count(services)))
        clock.set(TODAY + timedelta(days=1))       # 00:10 the next day: the lots that expired in the day
        scans.append(await timed("points expiry", lambda: expire_count(services)))
        await redis.aclose()
    return {"members": members, "due": due_count, "setup_seconds": round(filled, 1), "scans": scans}


async def expire_count(services) -> int:
    """The members the expiry index had due, all of them visited (none is left due after)."""
    until = epoch_ms(services.clock.now())
    due = await _expiring(services.redis, until)
    await services.points.expire_due()
    return due - await _expiring(services.redis, until)


async def _expiring(redis, until: int) -> int:
    return sum([await redis.zcount(keys.points_expiry_index(part), "-inf", until)
                for part in range(keys.LEDGER_PARTITIONS)])


async def review_count(services) -> int:
    return len(await services.tiers.review_due())


async def birthday_count(services) -> int:
    members = await services.birthdays.members_with_birthday_on(services.clock.now().date())
    for member_id in members:
        await services.birthdays.gift_of_the_day(member_id)
    return len(members)


def table(report: dict) -> str:
    lines = [f"{report['members']:,} members, {report['due']:,} due today (setup {report['setup_seconds']} s)",
             f"{'scan':<36} {'visited':>8} {'seconds':>8} {'RSS +MB':>8}  within 2 min / 300 MB"]
    for scan in report["scans"]:
        ok = scan["seconds"] < LIMIT_SECONDS and scan["rss_growth_mb"] < LIMIT_MB and scan["visited"] == report["due"]
        lines.append(f"{scan['scan']:<36} {scan['visited']:>8,} {scan['seconds']:>8} {scan['rss_growth_mb']:>8}  "
                     f"{'yes' if ok else 'NO'}")
    return "\n".join(lines)


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    report = asyncio.run(run(members)) | {"machine": machine(),
                                          "when": datetime.now(MALL_TZ).isoformat(timespec="seconds"),
                                          "targets": {"seconds": LIMIT_SECONDS, "rss_growth_mb": LIMIT_MB}}
    print(table(report))
    write_results("scans", report)


if __name__ == "__main__":
    main()
