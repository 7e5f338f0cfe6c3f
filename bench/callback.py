"""Benchmark of the WeChat callback endpoint: `make bench-callback`.

Same run, same machine, load from wrk in a separate process, 64 connections, a fresh MsgId per request:
  (a) WeRoBot's quick-start setup (its default server and session storage),
  (b) a hand-rolled aiohttp floor: wechatpy parse, one Redis HGET, one cached jinja2 render, reply,
  (c) our /wechat answering 积分 for a member with a bound phone and points, plaintext and safe mode.
Prints req/s, p50 and p99, and the ratios c/a and c/b; writes bench/results/callback.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import redis as syncredis
import redis.asyncio as aioredis
from wechatpy.crypto import WeChatCrypto

from bot.embedded_redis import EmbeddedRedis, free_port
from bot.wechat_crypto import signature

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "callback.json"
TOKEN, APPID, AES_KEY = "bench-token", "wxbench000000001", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "o_bench_member"
CONTENT = "积分"


def signed_path(timestamp: int, nonce: str = "4242") -> str:
    ts = str(timestamp)
    return f"/wechat?signature={signature(TOKEN, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid={OPENID}"


@contextmanager
def server(args: list[str], env: dict, port: int, cwd: str | None = None):
    """A server subprocess; its output goes to a file (an unread pipe would fill and stall it)."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(args, env=os.environ | env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_for_port(port: int, process: subprocess.Popen, log, timeout: float = 20) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


def settle(port: int, timeout: float = 60) -> None:
    """Wait until the server accepts a connection again (a slow server is still draining the last run)."""
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)


def run_wrk(port: int, seconds: int, connections: int, threads: int, env: dict) -> dict:
    settle(port)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
               "-s", str(HERE / "wrk_callback.lua"), f"http://127.0.0.1:{port}"]
    done = subprocess.run(command, env=os.environ | env | {"BENCH_THREADS": str(threads)},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
    out = done.stdout
    line = next(l for l in out.splitlines() if l.startswith("BENCHJSON "))
    raw = json.loads(line[len("BENCHJSON "):])
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values())
    return {"req_per_s": round(raw["requests"] / seconds_run, 1), "requests": raw["requests"],
            "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
            "errors": errors, "error_detail": raw["errors"]}


def measure(port: int, opts, env_for_run, connections: int | None = None) -> dict:
    """A short warm-up, then the measured run; env_for_run(run_no) gives fresh MsgIds per run."""
    connections = connections or opts.connections
    run_wrk(port, 2, connections, opts.threads, env_for_run(1))
    return run_wrk(port, opts.seconds, connections, opts.threads, env_for_run(2)) | {"connections": connections}


def measure_fragile(port: int, opts, env_for_run) -> dict:
    """For a server whose listen backlog cannot take all connections at once (wsgiref's is 5): when wrk
    cannot even connect, measure again with fewer connections and say so in the result."""
    for connections in (opts.connections, 16, 8, 4):
        try:
            return measure(port, opts, env_for_run, connections)
        except RuntimeError as failure:
            print(f"  {connections} connections: {str(failure).strip()[:120]}; trying fewer")
    raise RuntimeError("the server could not take even 4 connections")


def plaintext_env(run_no: int, content: str = CONTENT) -> dict:
    return {"BENCH_PATH": signed_path(int(time.time())), "BENCH_OPENID": OPENID, "BENCH_CONTENT": content,
            "BENCH_RUN": f"{int(time.time()) % 100000}{run_no}"}


def write_safe_mode_requests(path: Path, count: int, run_no: int) -> None:
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    ts = str(int(time.time()))
    nonce = "4242"
    with path.open("w") as out:
        for i in range(count):
            xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
                   f"</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                   f"<Content><![CDATA[{CONTENT}]]></Content><MsgId>{run_no}{ts}{i:09d}</MsgId></xml>")
            envelope = crypto.encrypt_message(xml, nonce, ts)
            encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
            msg_signature = signature(TOKEN, ts, nonce, encrypt)
            query = (f"/wechat?signature={signature(TOKEN, ts, nonce)}&timestamp={ts}&nonce={nonce}"
                     f"&openid={OPENID}&encrypt_type=aes&msg_signature={msg_signature}")
            body = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            out.write(f"{query}\t{body}\n")


async def prepare_member(bot_port: int, redis_url: str) -> None:
    """A member who followed, bound a phone and has points — through the real endpoints and services."""
    from bench.member_setup import bind_phone_and_earn
    async with aiohttp.ClientSession() as http:
        ts = int(time.time())
        follow = (f"<xml><ToUserName>gh_bench</ToUserName><FromUserName>{OPENID}</FromUserName>"
                  f"<CreateTime>{ts}</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>")
        async with http.post(f"http://127.0.0.1:{bot_port}{signed_path(ts)}", data=follow) as response:
            assert response.status == 200, await response.text()
    redis = aioredis.from_url(redis_url, decode_responses=True)
    try:
        await bind_phone_and_earn(redis, OPENID, BENCH_PII_KEY)
    finally:
        await redis.aclose()


def bot_env(redis_url: str, port: int, safe_mode: bool) -> dict:
    env = {"REDIS_URL": redis_url, "BOT_PORT": str(port), "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID,
           "WECHAT_APPSECRET": "bench-secret", "POS_API_SECRET": "bench-pos", "PII_KEY": BENCH_PII_KEY,
           "WECHAT_API_BASE": "http://127.0.0.1:9"}
    if safe_mode:
        env["WECHAT_AES_KEY"] = AES_KEY
    return env


BENCH_PII_KEY = "YmVuY2gtcGlpLWtleS0zMi1ieXRlcy1sb25nLWtleSE="


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk (make bench-callback installs it)")
    py = sys.executable
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-callback-") as tmp, \
            EmbeddedRedis(Path(tmp) / "redis") as redis_server:
        url = redis_server.url
        port = free_port()
        with server([py, str(HERE / "callback_werobot.py")], {"WECHAT_TOKEN": TOKEN, "PORT": str(port)}, port,
                    cwd=tmp):
            results["a_werobot"] = measure_fragile(port, opts, plaintext_env)
        for name, extra in (("b_floor", []), ("b_floor_uvloop", ["--uvloop"])):
            port = free_port()
            with server([py, "-m", "bench.callback_floor", *extra], {"REDIS_URL": url, "PORT": str(port)}, port):
                results[name] = measure(port, opts, plaintext_env)
        syncredis.Redis.from_url(url).flushdb()
        port = free_port()
        with server([py, "-m", "bot", "serve"], bot_env(url, port, safe_mode=False), port):
            asyncio.run(prepare_member(port, url))
            results["c_ours_plaintext"] = measure(port, opts, plaintext_env)
        port = free_port()
        with server([py, "-m", "bot", "serve"], bot_env(url, port, safe_mode=True), port):
            requests_file = Path(tmp) / "safe.tsv"

            def safe_env(run_no: int) -> dict:
                count = 30_000 if run_no == 1 else max(60_000, opts.seconds * 12_000)
                write_safe_mode_requests(requests_file, count, run_no)
                return {"BENCH_REQUESTS": str(requests_file)}
            results["c_ours_safe_mode"] = measure(port, opts, safe_env)
    report(results, opts)


def report(results: dict, opts) -> None:
    ours = results["c_ours_plaintext"]["req_per_s"]
    ratios = {
        "c_over_a": round(ours / results["a_werobot"]["req_per_s"], 2),
        "c_over_b": round(ours / results["b_floor"]["req_per_s"], 2),
        "c_over_b_uvloop": round(ours / results["b_floor_uvloop"]["req_per_s"], 2),
        "c_safe_over_b": round(results["c_ours_safe_mode"]["req_per_s"] / results["b_floor"]["req_per_s"], 2),
    }
    print(f"\n{'setup':<22}{'conns':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>9}")
    for name, row in results.items():
        print(f"{name:<22}{row['connections']:>6}{row['req_per_s']:>10.0f}{row['p50_ms']:>10.2f}"
              f"{row['p99_ms']:>10.2f}{row['errors']:>9}")
    print("\n" + "  ".join(f"{k} = {v}" for k, v in ratios.items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": {"cpus": os.cpu_count(),
                                                                 "python": platform.python_version()},
        "load": {"tool": "wrk", "connections": opts.connections, "threads": opts.threads,
                 "seconds": opts.seconds, "content": CONTENT},
        "results": results, "ratios": ratios,
        "targets": {"c_over_a": ">= 4", "c_over_b": ">= 1.0", "p99_ms": "< 50"},
    }, indent=2, ensure_ascii=False))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
