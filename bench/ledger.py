"""Benchmark of the purchase path: `make bench-ledger` (`python -m bench.ledger`).

In one run, against one embedded redis-server (AOF on, as in production):
  (a) the raw ceiling: redis-py asyncio EVALSHA of a Lua script with 5 writes, one process (uvloop),
      50 concurrent callers, members spread over 1,000 hash tags;
  (b) POST /api/v1/purchases (HMAC, txn claim, the purchase script, event relay, index sync) against ONE
      `python -m bot serve` process; load from wrk in a separate process, 50 connections, every request
      a new txn_id for one of 1,000 members, signed beforehand (wrk has no HMAC). The event consumers the
      purchases feed run in a `python -m bot consumers` process beside it (`--in-process-consumers`: in
      serve, `serve --consumers`); the processor seconds of each process are counted from the start of the
      load until every consumer group has acknowledged every event.
  (c) for scale, the floor of any endpoint on this stack: the same server stack (aiohttp, uvloop, redis-py)
      answering a signed POST with one EVALSHA of the raw script and nothing else.
Prints the rates and the ratios b/a and c/a; writes bench/results/ledger.json.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import orjson
import redis as syncredis
import redis.asyncio as aioredis

from bench.common import (BENCH_PII_KEY, HERE, bot_env, cpu_seconds, machine, require_wrk, run_wrk, server, worker,
                          write_results)
from bot.api.auth import sign
from bot.embedded_redis import EmbeddedRedis, free_port
from loyalty_core.clock import MALL_TZ
from loyalty_core.keys import OUTBOX_STREAM
from loyalty_core.redis_store.connection import connect

POS_SECRET = "bench-pos-secret"
MEMBERS = 1000
RAW_SCRIPT = """
redis.call('HINCRBY', KEYS[1], 'balance', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])
return 1
"""
WRK_SCRIPT = HERE / "wrk_requests.lua"


# -- (a) the raw ceiling ---------------------------------------------------------------------------
async def raw_ceiling(url: str, seconds: float, concurrency: int) -> dict:
    redis = aioredis.from_url(url, max_connections=concurrency + 4)
    sha = await redis.script_load(RAW_SCRIPT)
    done = 0
    stop_at = 0.0

    async def caller(worker: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < stop_at:
            tag = f"{{m:{(worker * 7919 + n) % MEMBERS}}}"
            await redis.evalsha(sha, 4, f"{tag}:acct", f"{tag}:hist", f"{tag}:rec", f"{tag}:idx",
                                1, "entry-payload-of-a-typical-size", f"r{worker}-{n}", n)
            n += 1
            done += 1

    try:
        for phase_seconds in (1.0, seconds):               # a warm-up, then the measured phase
            done = 0
            started = time.perf_counter()
            stop_at = started + phase_seconds
            await asyncio.gather(*(caller(w) for w in range(concurrency)))
            elapsed = time.perf_counter() - started
    finally:
        await redis.aclose()
    return {"ops_per_s": round(done / elapsed, 1), "ops": done, "concurrency": concurrency}


# -- (c) the floor: a signed POST and one EVALSHA -----------------------------------------------------
def floor_server(port: int, url: str) -> None:
    """python -m bench.ledger --floor-server PORT REDIS_URL"""
    import uvloop
    from aiohttp import web

    async def make_app() -> web.Application:
        redis = aioredis.from_url(url, max_connections=512)
        sha = await redis.script_load(RAW_SCRIPT)

        async def purchase(request: web.Request) -> web.Response:
            body = await request.read()
            if sign(POS_SECRET, request.headers["X-Timestamp"], body) != request.headers["X-Signature"]:
                return web.Response(status=401)
            data = orjson.loads(body)
            tag = f"{{m:{data['member']['openid']}}}"
            await redis.evalsha(sha, 4, f"{tag}:acct", f"{tag}:hist", f"{tag}:rec", f"{tag}:idx", 1, body,
                                data["txn_id"], 1)
            return web.Response(body=orjson.dumps({"ok": True}), content_type="application/json")

        app = web.Application()
        app.router.add_post("/api/v1/purchases", purchase)
        return app

    uvloop.install()
    web.run_app(make_app(), host="127.0.0.1", port=port, access_log=None, print=None)


def floor(url: str, opts, tmp: Path) -> dict:
    port = free_port()
    with server([sys.executable, "-m", "bench.ledger", "--floor-server", str(port), url], {}, port):
        run_purchases_wrk(port, 2, opts, tmp / "warm.tsv")
        return run_purchases_wrk(port, opts.seconds, opts, tmp / "run.tsv")


# -- (b) POST /api/v1/purchases ----------------------------------------------------------------------
async def create_members(url: str) -> None:
    """Members who followed the account, through the real member service."""
    import base64

    from bot.services import build_services
    from bot.sms import LogSmsSender
    from loyalty_core.clock import SystemClock
    redis = connect(url, socket_connect_timeout=10, socket_timeout=10)   # a redis-server or a cluster
    try:
        services = build_services(redis, SystemClock(), base64.b64decode(BENCH_PII_KEY), LogSmsSender())
        for i in range(MEMBERS):
            await services.members.follow(f"o_bench_{i}", f"evt:bench:{i}")
    finally:
        await redis.aclose()


def write_requests(path: Path, count: int, run: str) -> None:
    """count signed purchase requests, each a new txn_id, as lines for bench/wrk_requests.lua."""
    timestamp = str(int(time.time()))
    occurred_at = datetime.now(MALL_TZ).isoformat(timespec="seconds")
    with path.open("w") as out:
        for i in range(count):
            body = orjson.dumps({"txn_id": f"B{run}-{i:08d}", "member": {"openid": f"o_bench_{i % MEMBERS}"},
                                 "amount": f"{i % 400 + 1}.{i % 100:02d}", "category": "fashion",
                                 "store_id": "S01", "occurred_at": occurred_at})
            signature = sign(POS_SECRET, timestamp, body)
            out.write(f"/api/v1/purchases\t{body.decode()}\tX-Timestamp\t{timestamp}\tX-Signature\t{signature}\n")


def run_purchases_wrk(port: int, seconds: int, opts, requests_file: Path) -> dict:
    return run_wrk(port, seconds, opts.connections, opts.threads, WRK_SCRIPT,
                   {"BENCH_REQUESTS": str(requests_file), "BENCH_CONTENT_TYPE": "application/json"})


@contextlib.contextmanager
def optional_worker(args: list[str] | None, env: dict):
    if args is None:
        yield None
        return
    with worker(args, env) as process:
        yield process


def events_drained(url: str, timeout: float = 300) -> float:
    """Seconds until every consumer group of the domain events has read and acknowledged every entry."""
    redis = syncredis.Redis.from_url(url, decode_responses=True)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        groups = redis.xinfo_groups(OUTBOX_STREAM) if redis.exists(OUTBOX_STREAM) else []
        if groups and all(g["lag"] == 0 and g["pending"] == 0 for g in groups):
            break
        time.sleep(0.2)
    return round(time.monotonic() - started, 1)


def purchases(url: str, opts, tmp: Path) -> dict:
    port = free_port()
    syncredis.Redis.from_url(url).flushdb()
    asyncio.run(create_members(url))
    warm_file, run_file = tmp / "warm.tsv", tmp / "run.tsv"
    write_requests(warm_file, 3000, "w")
    write_requests(run_file, opts.max_requests, "r")
    env = bot_env(url, port, token="bench-token", appid="wxbench000000001", pos_secret=POS_SECRET)
    serve_args = [sys.executable, "-m", "bot", "serve"] + (["--consumers"] if opts.in_process_consumers else [])
    consumer_args = [sys.executable, "-m", "bot", "consumers"] if not opts.in_process_consumers else None
    with server(serve_args, env, port) as serve, optional_worker(consumer_args, env) as consumers:
        run_purchases_wrk(port, 2, opts, warm_file)
        events_drained(url)
        serve_cpu, consumers_cpu = cpu_seconds(serve.pid), consumers and cpu_seconds(consumers.pid)
        result = run_purchases_wrk(port, opts.seconds, opts, run_file)
        result["events_drained_s"] = events_drained(url)      # in serve, their work counts in its time
        serve_cpu = cpu_seconds(serve.pid) - serve_cpu
        consumers_cpu = consumers and cpu_seconds(consumers.pid) - consumers_cpu
    stored = sum(1 for _ in syncredis.Redis.from_url(url).scan_iter(match="idx:txn:Br-*", count=10_000))
    # wrk cycles through the prepared requests; a second pass would be replays, not purchases
    result["purchases_booked"] = stored
    result["serve_cpu_ms_per_purchase"] = round(1000 * serve_cpu / max(stored, 1), 3)
    result["consumers_cpu_ms_per_purchase"] = consumers and round(1000 * consumers_cpu / max(stored, 1), 3)
    result["consumers"] = "in serve" if opts.in_process_consumers else "own process"
    result["replays"] = max(result["requests"] - stored, 0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-requests", type=int, default=120_000, help="signed requests prepared for wrk")
    parser.add_argument("--in-process-consumers", action="store_true",
                        help="run the event consumers inside serve (serve --consumers) instead of their own process")
    parser.add_argument("--floor-server", nargs=2, metavar=("PORT", "REDIS_URL"), help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.floor_server:
        floor_server(int(opts.floor_server[0]), opts.floor_server[1])
        return
    require_wrk()
    import uvloop
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp, \
            EmbeddedRedis(Path(tmp) / "redis") as redis_server:
        raw = uvloop.run(raw_ceiling(redis_server.url, opts.seconds, opts.connections))
        api = purchases(redis_server.url, opts, Path(tmp))
        floor_result = floor(redis_server.url, opts, Path(tmp))
    report({"a_raw_evalsha": raw, "b_api_purchases": api, "c_floor_post_one_evalsha": floor_result}, opts)


def report(results: dict, opts) -> None:
    raw, api, floor_result = (results["a_raw_evalsha"], results["b_api_purchases"],
                              results["c_floor_post_one_evalsha"])
    ratio = round(api["req_per_s"] / raw["ops_per_s"], 2)
    floor_ratio = round(floor_result["req_per_s"] / raw["ops_per_s"], 2)
    print()
    print(f"{'measurement':<58}{'rate/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'(a) raw EVALSHA, 5 writes, redis-py, 1 process, 50 conc.':<58}{raw['ops_per_s']:>10,.0f}")
    for label, row in (("(b) POST /api/v1/purchases, 1 serve process, 50 conns", api),
                       ("(c) floor: signed POST + 1 EVALSHA, same stack, 50 conns", floor_result)):
        print(f"{label:<58}{row['req_per_s']:>10,.0f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}")
    print(f"{'ratio b/a (target >= 0.6)':<58}{ratio:>10.2f}")
    print(f"{'ratio c/a (what one round trip behind HTTP allows)':<58}{floor_ratio:>10.2f}")
    print(f"errors: {api['errors'] + floor_result['errors']}, purchases booked: {api['purchases_booked']}, "
          f"replays: {api['replays']}")
    consumers = api["consumers_cpu_ms_per_purchase"]
    print(f"processor time per purchase: serve {api['serve_cpu_ms_per_purchase']:.3f} ms, consumers "
          + (f"{consumers:.3f} ms (own process)" if consumers is not None else "in serve")
          + f"; the events drained {api['events_drained_s']} s after the load")
    write_results("ledger", {
        "results": results, "ratio_b_over_a": ratio, "ratio_c_over_a": floor_ratio,
        "settings": {"seconds": opts.seconds, "connections": opts.connections, "threads": opts.threads,
                     "members": MEMBERS, "consumers": api["consumers"]},
        "machine": machine(), "at": datetime.now(MALL_TZ).isoformat(timespec="seconds"),
    })

if __name__ == "__main__":
    main()
