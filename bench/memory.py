"""Redis memory per member: `make bench-memory` (`python -m bench.memory [members]`, default 100,000).

A year of typical activity for a sample of members (default 500), through the real services on a clock that
moves through the twelve months: follow, a birthday, two communities, 30 purchases (one every 12 days), five
coupons (the welcome gift and four more; two used at the till, the others left to expire or live), with
every consumer of the domain events (notices, facts and segments, campaign results, surveys, indexes,
retention), a push sender delivering the notices to the WeChat sandbox, the coupon-expiry job, and at the end
the retention job. Then the sample is copied key for key (DUMP/RESTORE, members' entries of the shared
indexes and sets added for each copy) until the database holds `members` members, and Redis's used_memory is
read: before the sample, after it, and at full size. Reported: bytes per member at full size, the
projection to 1,000,000, the structures of one member by size, and the shared keys by size.

Redis: a private redis-server (AOF off); never REDIS_URL. Writes bench/results/memory.json.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import re
import sys
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import aiohttp
import redis.asyncio as aioredis

from bench.common import BENCH_PII_KEY, machine, private_redis, sandbox_process, write_results
from bot.embedded_redis import free_port
from loyalty_core import keys
from loyalty_core.clock import MALL_TZ, ManualClock

APPID, SECRET = "wxbenchmemory0001", "bench-memory-secret"
OPENID_PREFIX = "oBenchMem"
FIRST_MEMBER = 100_000                  # member numbers are six digits from here (keys.py)
PURCHASES, EVERY_DAYS = 30, 12
CATEGORIES = ("fashion", "dining", "beauty", "kids", "electronics", "jewellery")
EXTRA_COUPONS = ("winback-30", "fashion-15", "dining-200-30", "winback-50")
BATCH = 50


# -- a year of activity for the sample ---------------------------------------------------------------------
async def build_sample(redis_url: str, sandbox_url: str, sample: int) -> dict:
    from bot.events import background_work  # noqa: F401  (the same consumers the consumers process runs)
    from bot.scheduler.sender import build_sender
    from bot.services import build_services
    from bot.settings import Settings
    from bot.sms import LogSmsSender
    from bot.wechat_api import WeChatApi
    from wechat_sandbox.testing import SandboxClient

    async with SandboxClient(sandbox_url) as sandbox:
        await sandbox.settings(quotas=False)
        await sandbox.add_followers(sample, prefix=OPENID_PREFIX)
    start = datetime.now(MALL_TZ).replace(hour=11, minute=0, second=0, microsecond=0) - timedelta(days=365)
    clock = ManualClock(start)
    redis = aioredis.from_url(redis_url, decode_responses=True, max_connections=256)
    async with aiohttp.ClientSession() as session:
        wechat = WeChatApi(session, redis, APPID, SECRET, sandbox_url)
        services = build_services(redis, clock, base64.b64decode(BENCH_PII_KEY), LogSmsSender(), wechat=wechat)
        settings = Settings(wechat_appid=APPID, wechat_appsecret=SECRET, wechat_api_base=sandbox_url,
                            redis_url=redis_url)
        sender = build_sender(redis, session, settings, clock, policy=services.pushes.policy)
        stop = asyncio.Event()
        sending = asyncio.create_task(sender.run(stop))
        try:
            member_ids = await join(services, sample)
            for community_id, name in (("yoga", "瑜伽社"), ("wine", "品酒会")):
                await services.communities.create(community_id, name, "")
            lifetimes = KeyLifetimes()
            for round_no in range(PURCHASES):
                clock.set(start + timedelta(days=round_no * EVERY_DAYS))
                await in_batches(member_ids, lambda m, i: a_round(services, m, i, round_no))
                await services.coupons.expire_due(clock.now())
                await consume_everything(services)
                await lifetimes.note(redis, clock.now())
            await until_sent(services)
            await lifetimes.note(redis, clock.now())
        finally:
            stop.set()
            await sending
        trimmed = await services.retention.trim_streams()
        expired = await lifetimes.expire(redis, clock.now())
    await redis.aclose()
    return {"member_ids": member_ids, "stream_entries_trimmed": trimmed, "sender": dict(sender.stats),
            "keys_past_their_time_to_live": expired}


class KeyLifetimes:
    """Keys with a time to live live it in real time, while the sample's year passes in minutes: each is noted
    with the year's time when it first appears, and those whose time to live would have run out by the end
    of the year are deleted then, as Redis would have."""

    def __init__(self):
        self._born: dict[str, tuple[datetime, int]] = {}

    async def note(self, redis, now: datetime) -> None:
        fresh = [key async for key in redis.scan_iter(count=5000) if key not in self._born]
        async with redis.pipeline(transaction=False) as pipe:
            for key in fresh:
                pipe.pttl(key)
            ttls = await pipe.execute()
        for key, ttl in zip(fresh, ttls):
            self._born[key] = (now, ttl)

    async def expire(self, redis, end: datetime) -> int:
        gone = [key for key, (born, ttl) in self._born.items() if ttl > 0 and born + timedelta(milliseconds=ttl) < end]
        for start in range(0, len(gone), 1000):
            await redis.delete(*gone[start:start + 1000])
        return len(gone)


async def join(services, sample: int) -> list[str]:
    member_ids = []
    for start in range(0, sample, BATCH):
        joined = await asyncio.gather(*(services.members.follow(f"{OPENID_PREFIX}{n:08d}", f"join:{n}")
                                        for n in range(start, min(sample, start + BATCH))))
        member_ids += [member.member_id for member in joined]
    numbers = sorted(int(m) for m in member_ids)
    assert numbers == list(range(numbers[0], numbers[0] + sample)), "members numbered one after the other"
    return member_ids


async def in_batches(member_ids: list[str], work) -> None:
    for start in range(0, len(member_ids), BATCH):
        await asyncio.gather(*(work(m, start + i) for i, m in enumerate(member_ids[start:start + BATCH])))


async def a_round(services, member_id: str, n: int, round_no: int) -> None:
    from loyalty_core.coupon_rules import Basket
    from loyalty_core.members import MemberRef
    from loyalty_core.till import PurchaseRequest

    if round_no == 0:
        proposal = await services.birthdays.propose(member_id, f"19{70 + n % 30}-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                                                    "lunar" if n % 4 == 0 else "solar")
        await services.birthdays.confirm(member_id, proposal.choice.payload["sealed"], proposal.choice.choice_id)
        for words in ("瑜伽社", "品酒会"):
            await services.communities.join(member_id, words)
    if round_no % 6 == 3 and round_no // 6 < len(EXTRA_COUPONS):
        coupon = await services.coupons.issue(member_id, EXTRA_COUPONS[round_no // 6], f"bench:{round_no}")
        if round_no // 6 in (0, 2):
            await services.coupons.use(coupon.code, f"CPN-{member_id}-{round_no}",
                                       Basket(Decimal("300"), category="dining", store_id="S01"))
    amount = Decimal(80 + (n * 37 + round_no * 53) % 900)
    await services.till.purchase(PurchaseRequest(
        txn_id=f"M{member_id}-{round_no:02d}", member=MemberRef("openid", f"{OPENID_PREFIX}{n:08d}"), amount=amount,
        occurred_at=services.clock.now(), category=CATEGORIES[(n + round_no) % len(CATEGORIES)],
        store_id=f"S0{n % 5 + 1}"))


async def consume_everything(services) -> None:
    from bot import events
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    consumers = [make(services, "bench") for make in (
        events.referral_consumer, events.birthday_index_consumer, events.welcome_consumer, events.join_day_consumer,
        events.notice_consumer, events.survey_consumer, events.facts_consumer, events.campaign_results_consumer,
        events.retention_consumer)]
    for consumer in consumers:
        await consumer.drain(max_steps=100_000)


async def until_sent(services, timeout: float = 300) -> None:
    """Every queued push read and acknowledged by the sender."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        waiting = 0
        for partition in range(services.push_queue.partitions):
            stream = keys.push_stream(partition)
            if await services.redis.exists(stream):
                groups = await services.redis.xinfo_groups(stream)
                waiting += sum((g["lag"] or 0) + g["pending"] for g in groups) if groups else 1
        if not waiting:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("the sender did not finish the notices")


# -- copies of the sample up to full size ------------------------------------------------------------------
MEMBER_TAG = re.compile(r"\{m:(\d+)\}")


async def copy_sample(url: str, member_ids: list[str], members: int) -> None:
    """Each further member is a copy of a sample member: its own keys restored under its id, its entries in
    the shared keys added under its id."""
    redis = aioredis.from_url(url, decode_responses=False, max_connections=8)
    sample = {m.encode() for m in member_ids}
    ids = re.compile(rb"(?<!\d)1\d{5}(?!\d)")
    own, shared = {m: [] for m in sample}, []
    async for key in redis.scan_iter(count=5000):
        tagged = MEMBER_TAG.search(key.decode())
        if tagged and tagged.group(1).encode() in sample:
            own[tagged.group(1).encode()].append(key)
        else:
            shared.append(key)
    first = min(int(m) for m in member_ids)
    copies = [(str(first + n).encode(), member_ids[n % len(member_ids)].encode())
              for n in range(len(member_ids), members)]
    dumps = {m: await dumped(redis, own[m]) for m in sample}
    for start in range(0, len(copies), 200):
        async with redis.pipeline(transaction=False) as pipe:
            for new, old in copies[start:start + 200]:
                for key, ttl, value in dumps[old]:
                    pipe.restore(key.replace(b"{m:" + old + b"}", b"{m:" + new + b"}"), max(ttl, 0), value,
                                 replace=True)
            await pipe.execute()
    by_sample: dict[bytes, list[bytes]] = {}
    for new, old in copies:
        by_sample.setdefault(old, []).append(new)
    for key in shared:
        await copy_shared(redis, key, sample, by_sample, ids)
    await redis.aclose()


async def dumped(redis, key_names: list[bytes]) -> list[tuple[bytes, int, bytes]]:
    async with redis.pipeline(transaction=False) as pipe:
        for key in key_names:
            pipe.pttl(key)
            pipe.dump(key)
        found = await pipe.execute()
    return [(key, found[2 * i], found[2 * i + 1]) for i, key in enumerate(key_names) if found[2 * i + 1]]


async def copy_shared(redis, key: bytes, sample: set, by_sample: dict, ids) -> None:
    """A shared key that names a sample member: a string (an index entry) gets a copy per copied member; a set,
    sorted set or hash gets each of that member's entries once more per copy. Streams are left: the retention
    job keeps them to what a consumer has yet to acknowledge, whatever the number of members."""
    kind = (await redis.type(key)).decode()

    def owners(*parts: bytes) -> list[bytes]:
        return [found for part in parts for found in ids.findall(part) if found in sample]

    def copied(part: bytes, old: bytes, new: bytes) -> bytes:
        return part.replace(old, new)

    if kind == "string":
        value, ttl = await redis.get(key), await redis.pttl(key)
        found = owners(key, value)
        if not found:
            return
        old = found[0]
        async with redis.pipeline(transaction=False) as pipe:
            for new in by_sample.get(old, []):
                name = copied(key, old, new) if old in key else key + b"~" + new
                pipe.set(name, copied(value, old, new), px=ttl if ttl > 0 else None)
            await pipe.execute()
        return
    if kind not in ("set", "zset", "hash"):
        return
    entries = await {"set": lambda: redis.smembers(key), "zset": lambda: redis.zrange(key, 0, -1, withscores=True),
                     "hash": lambda: redis.hgetall(key)}[kind]()
    items = list(entries.items()) if kind == "hash" else list(entries) if kind == "zset" else [(m, None) for m in entries]
    async with redis.pipeline(transaction=False) as pipe:
        for element, extra in items:
            found = owners(element)
            if not found:
                continue
            old = found[0]
            for new in by_sample.get(old, []):
                name = copied(element, old, new)
                if kind == "set":
                    pipe.sadd(key, name)
                elif kind == "zset":
                    pipe.zadd(key, {name: extra})
                else:
                    pipe.hset(key, name, copied(extra, old, new))
        await pipe.execute()


# -- measuring ---------------------------------------------------------------------------------------------
async def used_memory(url: str) -> int:
    redis = aioredis.from_url(url)
    try:
        await redis.execute_command("MEMORY", "PURGE")
        return (await redis.info("memory"))["used_memory"]
    finally:
        await redis.aclose()


async def structures(url: str, member_id: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int]:
    """One member's keys by size, the largest shared key families by size, and the number of keys."""
    redis = aioredis.from_url(url, decode_responses=True)
    mine, shared, chunk = [], Counter(), []

    async def sized(names: list[str]) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.memory_usage(name, samples=0)
            sizes = await pipe.execute()
        for name, size in zip(names, sizes):
            tagged = MEMBER_TAG.search(name)
            if tagged is None:
                shared[re.sub(r"[:~](?:[A-Za-z0-9_.\-|]{6,})$", ":*", name)] += size or 0
            elif tagged.group(1) == member_id:
                mine.append((name.replace(member_id, "<id>"), size or 0))

    try:
        async for key in redis.scan_iter(count=5000):
            tagged = MEMBER_TAG.search(key)
            if tagged is None or tagged.group(1) == member_id:
                chunk.append(key)
            if len(chunk) >= 1000:
                await sized(chunk)
                chunk = []
        await sized(chunk)
        return sorted(mine, key=lambda kv: -kv[1]), shared.most_common(12), await redis.dbsize()
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("members", type=int, nargs="?", default=100_000)
    parser.add_argument("--sample", type=int, default=500)
    opts = parser.parse_args()
    if not opts.sample <= opts.members < FIRST_MEMBER * 9:
        sys.exit("members: at least the sample, fewer than 800,000 (six-digit member numbers)")
    import time
    import uvloop
    started = time.monotonic()
    with private_redis() as url, sandbox_process(free_port(), APPID, SECRET) as sandbox_url:
        empty = uvloop.run(used_memory(url))
        built = uvloop.run(build_sample(url, sandbox_url, opts.sample))
        print(f"sample built in {time.monotonic() - started:.0f} s", flush=True)
        at_sample = uvloop.run(used_memory(url))
        mine, _, _ = uvloop.run(structures(url, built["member_ids"][0]))
        uvloop.run(copy_sample(url, built["member_ids"], opts.members))
        at_full = uvloop.run(used_memory(url))
        print(f"copied to {opts.members:,} members in {time.monotonic() - started:.0f} s", flush=True)
        _, shared, key_count = uvloop.run(structures(url, built["member_ids"][0]))
    report(opts, empty, at_sample, at_full, mine, shared, key_count, built)


def report(opts, empty, at_sample, at_full, mine, shared, key_count, built) -> None:
    per_member = (at_full - empty) / opts.members
    per_member_sample = (at_sample - empty) / opts.sample
    projected = empty + per_member * 1_000_000
    print()
    print(f"{'measurement':<62}{'value':>16}")
    for label, value in (
            (f"used_memory, empty database", f"{empty / 2**20:,.1f} MiB"),
            (f"used_memory, {opts.sample:,} members with a year of activity", f"{at_sample / 2**20:,.1f} MiB"),
            (f"used_memory, {opts.members:,} members", f"{at_full / 2**20:,.1f} MiB"),
            ("per member at that size", f"{per_member:,.0f} B"),
            ("per member in the sample alone", f"{per_member_sample:,.0f} B"),
            ("projected to 1,000,000 members", f"{projected / 2**30:,.2f} GiB"),
            ("keys in the database", f"{key_count:,}")):
        print(f"{label:<62}{value:>16}")
    print("\none member's keys (bytes, MEMORY USAGE):")
    for key, size in mine:
        print(f"  {key:<58}{size:>10,}")
    print("\nlargest shared key families at full size (bytes):")
    for family, size in shared:
        print(f"  {family:<58}{size:>14,}")
    write_results("memory", {
        "members": opts.members, "sample": opts.sample,
        "activity": {"purchases": PURCHASES, "coupons": 1 + len(EXTRA_COUPONS), "coupons_used": 2,
                     "birthday": True, "communities": 2, "months": 12},
        "used_memory_bytes": {"empty": empty, "sample": at_sample, "full": at_full},
        "bytes_per_member": round(per_member), "bytes_per_member_sample": round(per_member_sample),
        "projected_1m_bytes": round(projected), "keys": key_count,
        "member_keys": dict(mine), "shared_key_families": dict(shared),
        "stream_entries_trimmed": built["stream_entries_trimmed"], "sender": built["sender"],
        "keys_past_their_time_to_live": built["keys_past_their_time_to_live"],
        "machine": machine(), "at": datetime.now(MALL_TZ).isoformat(timespec="seconds"),
    })


if __name__ == "__main__":
    main()
