"""What the benchmarks share: server processes, load from wrk, the bot's environment, the results file."""
from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
BENCH_PII_KEY = "YmVuY2gtcGlpLWtleS0zMi1ieXRlcy1sb25nLWtleSE="


def require_wrk() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk (make bench-callback installs it)")


@contextmanager
def server(args: list[str], env: dict, port: int, cwd: str | None = None):
    """A server subprocess, once it listens on `port`."""
    with _child(args, env, cwd) as (process, log):
        wait_for_port(port, process, log)
        yield process


@contextmanager
def worker(args: list[str], env: dict):
    """A process that listens on no port (consumers, sender); stopped as an operator would, with SIGTERM."""
    with _child(args, env) as (process, _):
        yield process


@contextmanager
def _child(args: list[str], env: dict, cwd: str | None = None):
    """A subprocess whose output goes to a file (an unread pipe would fill and stall it), terminated at the end."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(args, env=os.environ | env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, log
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for_port(port: int, process: subprocess.Popen, log, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
        if _accepts(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


def settle(port: int, timeout: float = 60) -> None:
    """Wait until the server accepts a connection again (a slow server is still draining the last run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not _accepts(port, wait=1):
        time.sleep(0.5)


def _accepts(port: int, wait: float | None = None) -> bool:
    with socket.socket() as sock:
        sock.settimeout(wait)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_wrk(port: int, seconds: int, connections: int, threads: int, script: Path, env: dict) -> dict:
    """One wrk run with a Lua script whose done() prints a BENCHJSON line; the rates and latencies it saw."""
    settle(port)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
               f"http://127.0.0.1:{port}"]
    done = subprocess.run(command, env=os.environ | env | {"BENCH_THREADS": str(threads)},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("BENCHJSON "))
    raw = json.loads(line[len("BENCHJSON "):])
    elapsed = raw["duration_us"] / 1e6
    return {"req_per_s": round(raw["requests"] / elapsed, 1), "requests": raw["requests"],
            "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
            "errors": sum(raw["errors"].values()), "error_detail": raw["errors"], "connections": connections}


def bot_env(redis_url: str, port: int, *, token: str, appid: str, pos_secret: str, aes_key: str | None = None) -> dict:
    """`python -m bot serve` against the given Redis; the WeChat API points nowhere (nothing is pushed)."""
    env = {"REDIS_URL": redis_url, "BOT_PORT": str(port), "WECHAT_TOKEN": token, "WECHAT_APPID": appid,
           "WECHAT_APPSECRET": "bench-secret", "POS_API_SECRET": pos_secret, "ADMIN_API_SECRET": "bench-admin-secret",
           "PII_KEY": BENCH_PII_KEY, "WECHAT_API_BASE": "http://127.0.0.1:9"}
    return env | ({"WECHAT_AES_KEY": aes_key} if aes_key else {"WECHAT_ALLOW_PLAINTEXT": "1"})


@contextmanager
def private_redis(with_pid: bool = False):
    """A redis-server of the benchmark's own in a temporary directory, without AOF; yields its URL (and its
    process id, for its processor time)."""
    from bot.embedded_redis import EmbeddedRedis
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as data_dir:
        with EmbeddedRedis(Path(data_dir), appendonly=False) as redis_server:
            yield (redis_server.url, redis_server.pid) if with_pid else redis_server.url


@contextmanager
def sandbox_process(port: int, appid: str, secret: str):
    """`python -m wechat_sandbox` on the port for the account, sending its callbacks nowhere; yields its URL."""
    env = {"SANDBOX_PORT": str(port), "WECHAT_APPID": appid, "WECHAT_APPSECRET": secret,
           "BOT_CALLBACK_URL": "http://127.0.0.1:9/unused"}
    with server([sys.executable, "-m", "wechat_sandbox"], env, port):
        yield f"http://127.0.0.1:{port}"


def cpu_seconds(pid: int) -> float:
    """The processor time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}


REFERENCE_ROUNDS = 50_000
REFERENCE_SCRIPT = "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HGET', KEYS[1], ARGV[1])"


def machine_reference(redis_url: str, redis_pid: int, db: int = 9) -> dict:
    """A fixed piece of work timed beside a benchmark in the same run (the median of five): the shared machine's
    speed differs by more than half between sittings, and this says which kind of sitting a figure comes from.
    Python: REFERENCE_ROUNDS script calls packed and JSON documents made, this process's processor seconds;
    Redis: as many small script calls (a hash field written and read, a key each), redis-server's processor
    seconds. The keys go into a database of their own, emptied afterwards."""
    import hiredis
    import orjson
    import redis

    client = redis.Redis.from_url(redis_url, db=db, socket_timeout=120)  # a busy shared machine stalls Redis
    sha = client.script_load(REFERENCE_SCRIPT)
    python, server = [], []
    try:
        for _ in range(5):
            started = time.process_time()
            for n in range(REFERENCE_ROUNDS):
                member = str(1_000_000 + n)
                hiredis.pack_command(("EVALSHA", sha, 2, f"{{m:{member}}}:a", f"{{m:{member}}}:b", member, n,
                                      "campaign:reference", 1772503200000))
                orjson.dumps({"member_id": member, "n": n, "topic": "campaign:reference", "text": f"会员 {member}"})
            python.append(time.process_time() - started)
            started = cpu_seconds(redis_pid)
            for first in range(0, REFERENCE_ROUNDS, 1000):
                pipe = client.pipeline(transaction=False)
                for n in range(first, first + 1000):
                    pipe.evalsha(sha, 1, f"reference:{n}", "field", n)
                pipe.execute()
            server.append(cpu_seconds(redis_pid) - started)
            client.flushdb(asynchronous=True)
    finally:
        client.close()
    return {"python_seconds": round(statistics.median(python), 2), "redis_seconds": round(statistics.median(server), 2)}


def write_results(name: str, report: dict) -> Path:
    path = RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {path.relative_to(HERE.parent)}")
    return path
