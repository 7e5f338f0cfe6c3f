"""Benchmark of the push sender: `make bench-push` (python -m bench.push).

100,000 pushes are planned for 20,000 members (5 each, inside the customer-service window each member's
message opened), then sent by `python -m bot sender` processes to the WeChat sandbox, a process of its own
with quotas off and 100 ms of latency injected into every message/custom/send. Two runs: one sender
process, then two. Reported per run: messages per second from the sandbox's first delivery to its last, the
share of each sender process, the messages each sender sent per second of processor time it used (what a
sender does with a core of its own, whatever else the machine runs: the sandbox and Redis share the machine's
cores with it, so this is the figure the target of 2,500 per process is judged by), each sender's peak RSS (VmHWM), the duplicates the sandbox received (must be 0)
and the pushes' outcomes; also how fast this process planned the pushes (not part of the measurement).
Writes bench/results/push.json.

Redis: a private redis-server (AOF off), flushed before each run; never REDIS_URL (this writes members).
The daily-scan half of the push benchmark comes with the scheduler.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench.common import BENCH_PII_KEY, cpu_seconds, machine, private_redis, sandbox_process, write_results
from bot.embedded_redis import free_port

APPID, SECRET = "wxbenchpush000001", "bench-push-secret"
OPENID_PREFIX = "oBenchPush"
ENDPOINT = "message/custom/send"
TARGET_PER_PROCESS = 2500


# -- setting up -----------------------------------------------------------------------------------------
async def plan_pushes(redis_url: str, sandbox_url: str, members: int, per_member: int, latency_ms: int) -> dict:
    """Followers on both sides, their windows, and the pushes planned; returns how fast the planning went."""
    from bot.services import build_services
    from bot.sms import LogSmsSender
    from loyalty_core.clock import SystemClock
    from loyalty_core.push.model import Content, Push
    from loyalty_core.redis_store.connection import connect
    from wechat_sandbox.testing import SandboxClient

    async with SandboxClient(sandbox_url) as sandbox:
        await sandbox.reset()
        await sandbox.settings(quotas=False)
        await sandbox.add_followers(members, prefix=OPENID_PREFIX)
        await sandbox.fault(ENDPOINT, latency_ms=latency_ms)
    redis = connect(redis_url, max_connections=300, socket_connect_timeout=10, socket_timeout=10)  # a busy machine
    await redis.flushall()
    services = build_services(redis, SystemClock(), b"b" * 32, LogSmsSender())
    now = services.clock.now()

    async def join(n: int) -> tuple[str, str]:
        openid = f"{OPENID_PREFIX}{n:08d}"
        member_id = (await services.members.follow(openid, f"join:{openid}")).member_id
        await services.pushes.member_acted(member_id, "message", now, f"msg:{openid}")
        return member_id, openid

    def push(member_id: str, openid: str, n: int) -> Push:
        return Push("", member_id, "service", f"bench:{n}", now + timedelta(hours=24),
                    Content.text(f"{openid}:{n} 本周会员日，积分双倍"))

    joined: list[tuple[str, str]] = []
    for start in range(0, members, 50):
        joined += await asyncio.gather(*(join(n) for n in range(start, min(members, start + 50))))
    started = time.perf_counter()
    for start in range(0, members, 40):
        await asyncio.gather(*(services.pushes.plan(push(member_id, openid, n))
                               for member_id, openid in joined[start:start + 40] for n in range(per_member)))
    seconds = time.perf_counter() - started
    await redis.aclose()
    return {"planned": members * per_member, "plan_seconds": round(seconds, 1),
            "planned_per_s": round(members * per_member / seconds)}


# -- the senders -------------------------------------------------------------------------------------------
class SenderProcess:
    def __init__(self, env: dict):
        self.log = tempfile.NamedTemporaryFile(prefix="bench-sender-", suffix=".log", delete=False)
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "sender"], env=os.environ | env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"sender exited: {self.output()[-2000:]}")
        if "partitions" not in self.output():
            return False
        self.cpu_at_ready = cpu_seconds(self.process.pid)
        return True

    def cpu_used(self) -> float:
        """Processor seconds spent since the sender said it was reading."""
        return cpu_seconds(self.process.pid) - self.cpu_at_ready

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return round(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024, 1)

    def stop(self) -> dict:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:      # a sender that does not stop is killed, never left behind
            self.process.kill()
            self.process.wait()
        output = self.output()
        os.unlink(self.log.name)
        stats = re.search(r"stopped: (.*)", output)
        return {name: int(n) for name, n in re.findall(r"(\w+)=(\d+)", stats.group(1))} if stats else {}


async def delivered(sandbox_url: str) -> int:
    from wechat_sandbox.testing import SandboxClient
    async with SandboxClient(sandbox_url) as sandbox:
        return (await sandbox.stats())["delivered"].get("custom", 0)


async def audit(sandbox_url: str) -> dict:
    """What the sandbox received: deliveries, distinct ones, first and last delivery, the calls' errcodes."""
    from wechat_sandbox.testing import SandboxClient
    async with SandboxClient(sandbox_url) as sandbox:
        seen: set[tuple[str, str]] = set()
        received, after, first, last = 0, 0, None, None
        while page := await sandbox.all_messages(channel="custom", after=after, limit=20_000):
            after = page[-1]["seq"]
            first = first if first is not None else page[0]["at"]
            last = page[-1]["at"]
            received += len(page)
            seen.update((entry["openid"], entry["message"]["text"]["content"]) for entry in page)
        stats = await sandbox.stats()
    return {"received": received, "duplicates": received - len(seen), "seconds": round(last - first, 3),
            "errcodes": stats["calls"].get(ENDPOINT, {}), "peak_in_flight": stats["peak_in_flight"].get(ENDPOINT, 0)}


def run_once(redis_url: str, sandbox_url: str, senders: int, args: argparse.Namespace) -> dict:
    total = args.members * args.per_member
    planning = asyncio.run(plan_pushes(redis_url, sandbox_url, args.members, args.per_member, args.latency))
    env = {"REDIS_URL": redis_url, "WECHAT_APPID": APPID, "WECHAT_APPSECRET": SECRET, "WECHAT_API_BASE": sandbox_url,
           "PUSH_SENDER_CONCURRENCY": str(args.concurrency), "PUSH_PARTITIONS": "8", "PII_KEY": BENCH_PII_KEY}
    processes = [SenderProcess(env) for _ in range(senders)]
    try:
        deadline = time.monotonic() + args.timeout
        while not all(p.ready() for p in processes):
            time.sleep(0.05)
        while asyncio.run(delivered(sandbox_url)) < total and time.monotonic() < deadline:
            time.sleep(0.5)
        rss = [p.peak_rss_mb() for p in processes]
        cpu = [p.cpu_used() for p in processes]
    finally:
        stats = [p.stop() for p in processes]
    received = asyncio.run(audit(sandbox_url))
    rate = received["received"] / received["seconds"] if received["seconds"] else 0.0
    outcomes = sum((Counter(s) for s in stats), Counter())
    per_cpu_second = [round(s.get("sent", 0) / seconds) if seconds else 0 for s, seconds in zip(stats, cpu)]
    return {"senders": senders, "messages": total, "concurrency": args.concurrency, "latency_ms": args.latency,
            **planning, "msgs_per_s": round(rate, 1),
            "per_process": [round(rate * s.get("sent", 0) / max(1, outcomes["sent"]), 1) for s in stats],
            "cpu_seconds": [round(c, 1) for c in cpu], "msgs_per_cpu_second": per_cpu_second,
            "peak_rss_mb": rss, "outcomes": dict(outcomes), **received}


def print_table(runs: list[dict]) -> None:
    header = (f"{'senders':>7} {'messages':>9} {'seconds':>8} {'msgs/s':>8} {'per process':>16} {'peak RSS':>14} "
              f"{'per CPU-second':>16} {'in flight':>9} {'dupes':>6} {'sent':>7}")
    print(header)
    print("-" * len(header))
    for run in runs:
        per = " / ".join(f"{r:.0f}" for r in run["per_process"])
        rss = " / ".join(f"{r:.0f}" for r in run["peak_rss_mb"]) + " MB"
        cpu = " / ".join(f"{r:.0f}" for r in run["msgs_per_cpu_second"])
        print(f"{run['senders']:>7} {run['messages']:>9} {run['seconds']:>8.2f} {run['msgs_per_s']:>8.0f} "
              f"{per:>16} {rss:>14} {cpu:>16} {run['peak_in_flight']:>9} {run['duplicates']:>6} {run['outcomes'].get('sent', 0):>7}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.push", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--per-member", type=int, default=5, help="pushes per member (a message's window: 5)")
    parser.add_argument("--concurrency", type=int, default=600, help="API calls in flight per sender process")
    parser.add_argument("--latency", type=int, default=100, help="ms injected into every customer-service send")
    parser.add_argument("--senders", default="1,2", help="sender processes per run, comma-separated")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a run may take")
    args = parser.parse_args()
    runs = []
    with private_redis() as redis_url, sandbox_process(free_port(), APPID, SECRET) as sandbox_url:
        for senders in (int(n) for n in args.senders.split(",")):
            runs.append(run_once(redis_url, sandbox_url, senders, args))
    print_table(runs)
    for run in runs:
        per_cpu = min(run["msgs_per_cpu_second"])
        verdict = "meets" if per_cpu >= TARGET_PER_PROCESS else "MISSES"
        print(f"{run['senders']} sender(s): {run['msgs_per_s']:.0f} msgs/s in all (wall clock); {per_cpu} messages per "
              f"sender processor-second, which {verdict} the target of {TARGET_PER_PROCESS} per process; planned "
              f"{run['planned_per_s']} pushes/s in one process")
    write_results("push", {"benchmark": "push", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
                           "target_msgs_per_s_per_process": TARGET_PER_PROCESS, "runs": runs})


if __name__ == "__main__":
    main()
