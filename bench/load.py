"""The whole product under load: `make bench-load` (`python -m bench.load`).

At once, for `--seconds` (default 20): two `python -m bot serve` processes, each under wrk on /wechat (a
member's 积分, a fresh MsgId per request, half the connections each); a till posting signed purchases to
them (wrk, one new txn_id per request, for 1,000 members); a `python -m bot sender` draining 100,000 pushes
(20,000 members, 5 each, in their customer-service windows) to the WeChat sandbox, which answers every
message/custom/send after 100 ms; and a `python -m bot consumers` process taking the purchases' events.
Reported in one table: callbacks req/s and p99 (both serve processes together; p99 the worse of the two),
purchases/s and p99, messages/s delivered in the window, errors of each; then how long the sender took for
all 100,000, and the processor seconds each process used.

Redis: a private redis-server (AOF everysec, as the embedded default), or the cluster REDIS_URL names
(redis+cluster://…; it is flushed). Writes bench/results/load.json.
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

import redis as syncredis

from bench import callback, ledger, push
from bench.common import (BENCH_PII_KEY, bot_env, cpu_seconds, machine, require_wrk, run_wrk, sandbox_process,
                          server, worker, write_results)
from bot.embedded_redis import EmbeddedRedis, free_port
from loyalty_core.clock import MALL_TZ

PUSH_MEMBERS, PUSHES_EACH, LATENCY_MS = 20_000, 5, 100


@contextmanager
def redis_for_load():
    url = os.environ.get("REDIS_URL", "")
    if url.startswith("redis+cluster://"):
        yield url, "cluster"
        return
    with tempfile.TemporaryDirectory(prefix="bench-load-") as data_dir, EmbeddedRedis(Path(data_dir)) as server_:
        yield server_.url, "one redis-server"


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
    opts = parser.parse_args()
    require_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp, redis_for_load() as (url, redis_kind), \
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
        result["sender_drain_s"] = drained(sandbox_url, result["started"], opts.push_members * PUSHES_EACH)
        result["purchases_booked"] = sum(1 for _ in syncredis.Redis.from_url(url).scan_iter(
            match="idx:txn:BL-*", count=10_000))
    report(result, redis_kind, opts)


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


def report(result: dict, redis_kind: str, opts) -> None:
    callbacks, till, pushes = result["callbacks"], result["till"], result["pushes"]
    print()
    print(f"under load together, {result['window_s']} s, on {redis_kind}:")
    print(f"{'':<44}{'rate/s':>10}{'p99 ms':>10}{'errors':>8}")
    print(f"{'/wechat callbacks, 2 serve processes':<44}{callbacks['req_per_s']:>10,.0f}{callbacks['p99_ms']:>10.1f}"
          f"{callbacks['errors']:>8}")
    print(f"{'till purchases (POST /api/v1/purchases)':<44}{till['req_per_s']:>10,.0f}{till['p99_ms']:>10.1f}"
          f"{till['errors']:>8}")
    print(f"{'pushes delivered by 1 sender':<44}{pushes['msgs_per_s']:>10,.0f}{'':>10}{'':>8}")
    print(f"all {opts.push_members * PUSHES_EACH:,} pushes delivered after {result['sender_drain_s']} s; "
          f"purchases booked: {result['purchases_booked']:,}")
    print("processor seconds in the window: " + ", ".join(f"{k} {v}" for k, v in result["cpu_seconds"].items()))
    result.pop("started")
    write_results("load", {"redis": redis_kind, "results": result,
                           "settings": {"seconds": opts.seconds, "connections": opts.connections,
                                        "till_connections": opts.till_connections, "push_members": opts.push_members,
                                        "pushes_each": PUSHES_EACH, "latency_ms": LATENCY_MS},
                           "machine": machine(), "at": datetime.now(MALL_TZ).isoformat(timespec="seconds")})


if __name__ == "__main__":
    main()
