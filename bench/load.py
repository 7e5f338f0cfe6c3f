"""The whole product under load, on one redis-server and on a Redis Cluster: `make bench-load` (`python -m bench.load`).

At once, for `--seconds` (default 20): two `python -m bot serve` processes, each under wrk on /wechat (a
member's 积分, a fresh MsgId per request, half the connections each); a till posting signed purchases to
them (wrk, one new txn_id per request, for 1,000 members); a `python -m bot sender` draining 100,000 pushes
(20,000 members, 5 each, in their customer-service windows) to the WeChat sandbox, which answers every
message/custom/send after 100 ms; and a `python -m bot consumers` process taking the purchases' events.
The same load runs on each Redis of `--redis` (default both, one after the other): a private redis-server (AOF
everysec, as the embedded default) and a private cluster of three masters (no replicas; tests/redis_cluster.py,
ports 7150-7199). Reported in one table, a row each: callbacks req/s and p99 (both serve processes together; p99
the worse of the two), messages/s delivered in the window, purchases/s and p99, errors; then how long the sender
took for all 100,000, the processor seconds each process used and the machine's load average before and after
each run (other work on the machine shows there). Writes bench/results/load.json.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

from bench import callback, ledger, push
from bench.common import (BENCH_PII_KEY, bot_env, cpu_seconds, machine, require_wrk, run_wrk, sandbox_process,
                          server, worker, write_results)
from bot.embedded_redis import EmbeddedRedis, free_port
from loyalty_core import keys
from loyalty_core.clock import MALL_TZ
from loyalty_core.redis_store.batching import pipelined
from loyalty_core.redis_store.connection import connect
from tests.redis_cluster import MASTERS, LocalCluster, free_ports

PUSH_MEMBERS, PUSHES_EACH, LATENCY_MS = 20_000, 5, 100
REDIS_KINDS = {"one": "one redis-server", "cluster": f"cluster of {MASTERS} masters"}
CLUSTER_PORTS = (7150, 7199)


@contextmanager
def redis_for_load(kind: str):
    with tempfile.TemporaryDirectory(prefix="bench-load-") as data_dir:
        if kind == "cluster":
            with LocalCluster(Path(data_dir), free_ports(*CLUSTER_PORTS, MASTERS)) as cluster:
                yield cluster.url
        else:
            with EmbeddedRedis(Path(data_dir)) as server_:
                yield server_.url


def in_thread(results: dict, name: str, work) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.__setitem__(name, work()), daemon=True)
    thread.start()
    return thread


def prepare(url: str, sandbox_url: str, opts, tmp: Path, serve_ports: list[int]) -> None:
    asyncio.run(push.plan_pushes(url, sandbox_url, opts.push_members, PUSHES_EACH, LATENCY_MS))   # flushes first
    asyncio.run(ledger.create_members(url))
    asyncio.run(callback.prepare_member(serve_ports[0], url))
    ledger.write_requests(tmp / "purchases.tsv", opts.max_requests, "L")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64, help="callback connections, split over the two")
    parser.add_argument("--till-connections", type=int, default=10)
    parser.add_argument("--max-requests", type=int, default=60_000, help="signed purchases prepared for wrk")
    parser.add_argument("--push-members", type=int, default=PUSH_MEMBERS, help="members with 5 pushes each")
    parser.add_argument("--redis", choices=["one", "cluster", "both"], default="both")
    parser.add_argument("--drain-timeout", type=int, default=600, help="seconds to wait for every push delivered")
    opts = parser.parse_args()
    require_wrk()
    runs = {}
    for kind in (["one", "cluster"] if opts.redis == "both" else [opts.redis]):
        load_before = os.getloadavg()
        runs[REDIS_KINDS[kind]] = run(kind, opts) | {"load_average_before": load_before,
                                                     "load_average_after": os.getloadavg()}
        report(runs, opts)


def run(kind: str, opts) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp, redis_for_load(kind) as url, \
            sandbox_process(free_port(), push.APPID, push.SECRET) as sandbox_url, ExitStack() as running:
        serve_ports = [free_port(), free_port()]
        env = lambda port: bot_env(url, port, token=callback.TOKEN, appid=push.APPID,  # noqa: E731
                                   pos_secret=ledger.POS_SECRET) | {
            "WECHAT_APPSECRET": push.SECRET, "WECHAT_API_BASE": sandbox_url, "PII_KEY": BENCH_PII_KEY}
        serves = [running.enter_context(server([sys.executable, "-m", "bot", "serve"], env(port), port))
                  for port in serve_ports]
        prepare(url, sandbox_url, opts, Path(tmp), serve_ports)
        consumers = running.enter_context(worker([sys.executable, "-m", "bot", "consumers"], env(serve_ports[0])))
        sender = running.enter_context(worker([sys.executable, "-m", "bot", "sender"], env(serve_ports[0])))
        sending(sandbox_url)
        result = measure(opts, serve_ports, Path(tmp), sandbox_url,
                         {"serve-1": serves[0], "serve-2": serves[1], "consumers": consumers, "sender": sender})
        result["sender_drain_s"] = drained(sandbox_url, result.pop("started"), opts.push_members * PUSHES_EACH,
                                           opts.drain_timeout)
        result["purchases_booked"] = asyncio.run(booked(url, opts.max_requests))
    return result


async def booked(url: str, prepared: int) -> int:
    """How many of the prepared purchases (txn ids BL-0…) are booked: their txn claims, read a batch at a time."""
    redis = connect(url)
    try:
        found = 0
        for start in range(0, prepared, 5000):
            claims = await pipelined(redis, [("EXISTS", keys.txn_index(f"BL-{n:08d}"))
                                             for n in range(start, min(prepared, start + 5000))])
            found += sum(claims)
        return found
    finally:
        await redis.aclose()


def measure(opts, serve_ports: list[int], tmp: Path, sandbox_url: str, processes: dict) -> dict:
    cpu_before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
    delivered_before = asyncio.run(push.delivered(sandbox_url))
    started = time.monotonic()
    results: dict = {}
    threads = [in_thread(results, f"callbacks-{n}", lambda port=port: run_wrk(
                   port, opts.seconds, opts.connections // 2, 1, callback.WRK_SCRIPT, callback.plaintext_env(n)))
               for n, port in enumerate(serve_ports, 1)]
    threads.append(in_thread(results, "till", lambda: run_wrk(
        serve_ports[1], opts.seconds, opts.till_connections, 1, ledger.WRK_SCRIPT,
        {"BENCH_REQUESTS": str(tmp / "purchases.tsv"), "BENCH_CONTENT_TYPE": "application/json"})))
    for thread in threads:
        thread.join()
    window = time.monotonic() - started
    delivered_in_window = asyncio.run(push.delivered(sandbox_url)) - delivered_before
    cpu = {name: round(cpu_seconds(p.pid) - cpu_before[name], 1) for name, p in processes.items()}
    callbacks = [results["callbacks-1"], results["callbacks-2"]]
    return {"callbacks": {"req_per_s": round(sum(r["req_per_s"] for r in callbacks), 1),
                          "p99_ms": max(r["p99_ms"] for r in callbacks),
                          "errors": sum(r["errors"] for r in callbacks), "per_process": callbacks},
            "till": results["till"],
            "pushes": {"msgs_per_s": round(delivered_in_window / window, 1), "delivered": delivered_in_window},
            "cpu_seconds": cpu, "window_s": round(window, 1), "started": started}


def sending(sandbox_url: str, timeout: float = 60) -> None:
    """Until the sender's first message arrives (it is draining when the load starts)."""
    deadline = time.monotonic() + timeout
    while asyncio.run(push.delivered(sandbox_url)) == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the sender sent nothing")
        time.sleep(0.2)


def drained(sandbox_url: str, started: float, total: int, timeout: float = 600) -> float | None:
    """Seconds from the start of the load until the sandbox had every message (None: not within timeout)."""
    while time.monotonic() - started < timeout:
        if asyncio.run(push.delivered(sandbox_url)) >= total:
            return round(time.monotonic() - started, 1)
        time.sleep(1)
    return None


def report(runs: dict, opts) -> None:
    print()
    print(f"under load together, {opts.seconds} s: 2 serve processes under wrk on /wechat, a till, 1 sender, consumers")
    print(f"{'':<28}{'callbacks/s':>12}{'p99 ms':>9}{'msgs/s':>9}{'purchases/s':>13}{'p99 ms':>9}{'errors':>8}"
          f"{'load avg':>10}")
    for kind, result in runs.items():
        callbacks, till, pushes = result["callbacks"], result["till"], result["pushes"]
        print(f"{kind:<28}{callbacks['req_per_s']:>12,.0f}{callbacks['p99_ms']:>9.0f}{pushes['msgs_per_s']:>9,.0f}"
              f"{till['req_per_s']:>13,.0f}{till['p99_ms']:>9.0f}{callbacks['errors'] + till['errors']:>8}"
              f"{result['load_average_before'][0]:>10.1f}")
    for kind, result in runs.items():
        drained = result["sender_drain_s"]
        drain = f"after {drained} s" if drained is not None else f"not within {opts.drain_timeout} s"
        print(f"{kind}: all {opts.push_members * PUSHES_EACH:,} pushes delivered {drain}; "
              f"purchases booked: {result['purchases_booked']:,}; processor seconds in the window: "
              + ", ".join(f"{k} {v}" for k, v in result["cpu_seconds"].items()))
    write_results("load", {"runs": runs,
                           "settings": {"seconds": opts.seconds, "connections": opts.connections,
                                        "till_connections": opts.till_connections, "push_members": opts.push_members,
                                        "pushes_each": PUSHES_EACH, "latency_ms": LATENCY_MS},
                           "machine": machine(), "at": datetime.now(MALL_TZ).isoformat(timespec="seconds")})


if __name__ == "__main__":
    main()
