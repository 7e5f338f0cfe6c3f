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
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import redis as syncredis
from wechatpy.crypto import WeChatCrypto

from bench.common import (
    BENCH_PII_KEY, HERE, bot_env, machine, require_wrk, run_wrk, server, write_results,
)
from bot.embedded_redis import EmbeddedRedis, free_port
from bot.wechat_crypto import signature
from loyalty_core.redis_store.connection import connect

TOKEN, APPID, AES_KEY = "bench-token", "wxbench000000001", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "o_bench_member"
CONTENT = "积分"
WRK_SCRIPT = HERE / "wrk_requests.lua"


def signed_path(timestamp: int, nonce: str = "4242") -> str:
    ts = str(timestamp)
    return f"/wechat?signature={signature(TOKEN, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid={OPENID}"


def measure(port: int, opts, env_for_run, connections: int | None = None) -> dict:
    """A short warm-up, then the measured run; env_for_run(run_no) gives fresh MsgIds per run."""
    connections = connections or opts.connections
    run_wrk(port, 2, connections, opts.threads, WRK_SCRIPT, env_for_run(1))
    return run_wrk(port, opts.seconds, connections, opts.threads, WRK_SCRIPT, env_for_run(2))


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
    redis = connect(redis_url, socket_connect_timeout=10, socket_timeout=10)   # a redis-server or a cluster
    try:
        await bind_phone_and_earn(redis, OPENID, BENCH_PII_KEY)
    finally:
        await redis.aclose()


def our_env(redis_url: str, port: int, safe_mode: bool) -> dict:
    return bot_env(redis_url, port, token=TOKEN, appid=APPID, pos_secret="bench-pos",
                   aes_key=AES_KEY if safe_mode else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    opts = parser.parse_args()
    require_wrk()
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
        with server([py, "-m", "bot", "serve"], our_env(url, port, safe_mode=False), port):
            asyncio.run(prepare_member(port, url))
            results["c_ours_plaintext"] = measure(port, opts, plaintext_env)
        port = free_port()
        with server([py, "-m", "bot", "serve"], our_env(url, port, safe_mode=True), port):
            requests_file = Path(tmp) / "safe.tsv"
            prepared = max(60_000, opts.seconds * 12_000)

            def safe_env(run_no: int) -> dict:
                write_safe_mode_requests(requests_file, 30_000 if run_no == 1 else prepared, run_no)
                return {"BENCH_REQUESTS": str(requests_file)}
            safe = measure(port, opts, safe_env)
            # wrk cycles through the prepared messages; a second pass would be retries the bot answers from
            # its reply cache, faster than new messages: say how many there were
            results["c_ours_safe_mode"] = safe | {"replays": max(safe["requests"] - prepared, 0)}
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
    write_results("callback", {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
        "load": {"tool": "wrk", "connections": opts.connections, "threads": opts.threads,
                 "seconds": opts.seconds, "content": CONTENT},
        "results": results, "ratios": ratios,
        "targets": {"c_over_a": ">= 4", "c_over_b": ">= 1.0", "p99_ms": "< 50"},
    })

if __name__ == "__main__":
    main()
