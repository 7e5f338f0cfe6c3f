"""Benchmark of customer-service fan-out: `make bench-fanout` (python -m bench.fanout).

WeChatApi sends 50,000 customer-service messages to the WeChat sandbox, which runs in a process of its
own on uvloop, with quotas switched off and 1,000 silent followers. Two runs: 0 ms and 100 ms of latency
injected into every message/custom/send. Each run sends from a fresh process, so the peak RSS reported
is that run's own. Reports the messages sent per second by each sending process (failed calls not
counted), its peak RSS, the most calls the sandbox saw at once, and the duplicates the sandbox received
(must be 0); writes bench/results/fanout.json.

Redis: REDIS_URL if set (only the bench account's token keys are written, then deleted), else a private
redis-server in a temporary directory.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import aiohttp
import redis as syncredis

from bench.common import machine, private_redis, sandbox_process, write_results
from bot.embedded_redis import free_port
from loyalty_core import keys

APPID, SECRET = "wxbenchfanout0001", "bench-fanout-secret"
OPENID_PREFIX = "oBenchFanout"
ENDPOINT = "message/custom/send"
TARGET_AT_100_MS = 2500


# -- the sending process ------------------------------------------------------------------------------
async def send_all(sandbox_url: str, redis_url: str, run_id: str, messages: int, members: int,
                   concurrency: int) -> dict:
    import redis.asyncio as aioredis

    from bot.wechat_api import WeChatApi

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        redis = aioredis.from_url(redis_url, decode_responses=True)
        api = WeChatApi(session, redis, APPID, SECRET, sandbox_url, concurrency=concurrency)
        numbers = iter(range(messages))
        failures: list[str] = []

        async def worker() -> None:
            for n in numbers:
                payload = {"msgtype": "text", "text": {"content": f"{run_id}:{n} 本周会员日，积分双倍"}}
                try:
                    await api.send_custom(f"{OPENID_PREFIX}{n % members:08d}", payload)
                except Exception as error:  # noqa: BLE001 - counted and reported, the run goes on
                    failures.append(type(error).__name__)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await redis.aclose()
    sent = messages - len(failures)
    return {"messages": messages, "seconds": round(elapsed, 3), "msgs_per_s": round(sent / elapsed, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "failures": len(failures), "failure_kinds": sorted(set(failures))}


def sender_main(args: argparse.Namespace) -> None:
    import uvloop
    result = uvloop.run(send_all(args.sandbox, args.redis, args.run_id, args.messages, args.members,
                                 args.concurrency))
    print("FANOUTJSON " + json.dumps(result), flush=True)


# -- the orchestration ---------------------------------------------------------------------------------------
@contextmanager
def redis_server():
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with private_redis() as url:
        yield url


async def prepare(sandbox_url: str, members: int, latency_ms: int) -> None:
    from wechat_sandbox.testing import SandboxClient
    async with SandboxClient(sandbox_url) as sandbox:
        await sandbox.reset()
        await sandbox.settings(quotas=False)
        await sandbox.add_followers(members, prefix=OPENID_PREFIX)
        if latency_ms:
            await sandbox.fault(ENDPOINT, latency_ms=latency_ms)


async def audit(sandbox_url: str, run_id: str) -> dict:
    """What the sandbox received: deliveries of this run, distinct ones, and the calls' errcodes."""
    from wechat_sandbox.testing import SandboxClient
    async with SandboxClient(sandbox_url) as sandbox:
        seen: set[tuple[str, str]] = set()
        received, after = 0, 0
        while page := await sandbox.all_messages(channel="custom", after=after, limit=20_000):
            after = page[-1]["seq"]
            for entry in page:
                content = entry["message"]["text"]["content"]
                if content.startswith(f"{run_id}:"):
                    received += 1
                    seen.add((entry["openid"], content))
        stats = await sandbox.stats()
    return {"received": received, "distinct": len(seen), "duplicates": received - len(seen),
            "errcodes": stats["calls"].get(ENDPOINT, {}),
            "peak_in_flight": stats["peak_in_flight"].get(ENDPOINT, 0)}


def run_once(sandbox_url: str, redis_url: str, latency_ms: int, args: argparse.Namespace) -> dict:
    run_id = uuid.uuid4().hex[:8]
    asyncio.run(prepare(sandbox_url, args.members, latency_ms))
    command = [sys.executable, "-m", "bench.fanout", "--send", "--sandbox", sandbox_url, "--redis", redis_url,
               "--run-id", run_id, "--messages", str(args.messages), "--members", str(args.members),
               "--concurrency", str(args.concurrency)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    sent = json.loads(next(line for line in out.splitlines() if line.startswith("FANOUTJSON "))[11:])
    return {"latency_ms": latency_ms, "concurrency": args.concurrency, **sent,
            **asyncio.run(audit(sandbox_url, run_id))}


def forget_token(redis_url: str) -> None:
    client = syncredis.Redis.from_url(redis_url)
    try:
        client.delete(keys.access_token(APPID), keys.access_token_lock(APPID), keys.access_token_forced(APPID))
    finally:
        client.close()


def print_table(runs: list[dict]) -> None:
    header = (f"{'latency':>8} {'conc.':>6} {'messages':>9} {'seconds':>8} {'msgs/s':>9} {'peak RSS':>9} "
              f"{'in flight':>9} {'received':>9} {'dupes':>6} {'failures':>8}")
    print(header)
    print("-" * len(header))
    for run in runs:
        print(f"{run['latency_ms']:>6} ms {run['concurrency']:>6} {run['messages']:>9} {run['seconds']:>8.2f} "
              f"{run['msgs_per_s']:>9.0f} {run['peak_rss_mb']:>6.0f} MB {run['peak_in_flight']:>9} "
              f"{run['received']:>9} {run['duplicates']:>6} {run['failures']:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--latencies", default="0,100", help="injected latencies in ms, comma-separated")
    parser.add_argument("--send", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sandbox", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        sender_main(args)
        return
    runs = []
    with redis_server() as redis_url, sandbox_process(free_port(), APPID, SECRET) as sandbox_url:
        try:
            for latency in (int(ms) for ms in args.latencies.split(",")):
                forget_token(redis_url)
                runs.append(run_once(sandbox_url, redis_url, latency, args))
        finally:
            forget_token(redis_url)
    print_table(runs)
    at_100 = next((r for r in runs if r["latency_ms"] == 100), None)
    if at_100:
        verdict = "meets" if at_100["msgs_per_s"] >= TARGET_AT_100_MS else "MISSES"
        print(f"\nat 100 ms: {at_100['msgs_per_s']:.0f} msgs/s per process, {verdict} the target of "
              f"{TARGET_AT_100_MS}; duplicates {sum(r['duplicates'] for r in runs)}")
    write_results("fanout", {
        "benchmark": "fanout", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
        "target_msgs_per_s_at_100_ms": TARGET_AT_100_MS, "runs": runs,
    })

if __name__ == "__main__":
    main()
