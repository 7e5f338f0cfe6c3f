"""`python -m bot till …`: play a till against the running bot, signing requests like a real one.

    python -m bot till --openid o_abc --amount 1234.50 [--category fashion] [--store S01]
    python -m bot till --phone 13800138000 --amount 88
    python -m bot till --code 881234567890123456 --amount 88
    python -m bot till --refund TXN --amount 20
    python -m bot till --coupon K7QH-3WXN-9PZD-R --amount 250 --category dining [--txn T1]   (use a coupon)
    python -m bot till --coupon K7QH-3WXN-9PZD-R --amount 250 --check                      (only check it)

Signed with the API key API_KEY_ID / API_KEY_SECRET when set (`python -m bot keys add`), else with
POS_API_SECRET, else with the demo's; the bot is at 127.0.0.1:BOT_PORT (else 8080).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import time
import urllib.parse
import uuid
from datetime import datetime

import aiohttp
import orjson

from loyalty_core.clock import MALL_TZ

from ..settings import DEMO_POS_SECRET
from .auth import sign


def add_till_arguments(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--openid", help="the member's WeChat openid")
    who.add_argument("--phone", help="the member's bound phone number")
    who.add_argument("--code", help="the 18-digit member code shown in chat")
    who.add_argument("--refund", metavar="TXN", help="refund (part of) this purchase instead")
    who.add_argument("--coupon", metavar="CODE", help="use this coupon (or only check it, with --check)")
    parser.add_argument("--check", action="store_true", help="with --coupon: check it without using it")
    parser.add_argument("--amount", required=True, help="CNY, e.g. 1234.50")
    parser.add_argument("--category", default="")
    parser.add_argument("--store", default="")
    parser.add_argument("--txn", help="txn_id (or refund_id with --refund); a new one by default")
    parser.add_argument("--url", help="the bot's base URL (default http://127.0.0.1:$BOT_PORT)")


def till_request(args: argparse.Namespace) -> tuple[str, dict]:
    if args.coupon:
        return coupon_request(args)
    if args.refund:
        return "/api/v1/refunds", {"refund_id": args.txn or f"R{uuid.uuid4().hex[:16]}", "txn_id": args.refund,
                                   "amount": args.amount}
    member = {k: v for k, v in (("openid", args.openid), ("phone", args.phone), ("member_code", args.code)) if v}
    if not member:
        raise SystemExit("python -m bot till: name the member with --openid, --phone or --code (or use --refund)")
    payload = {"txn_id": args.txn or f"T{uuid.uuid4().hex[:16]}", "member": member, "amount": args.amount,
               "occurred_at": datetime.now(MALL_TZ).isoformat(timespec="seconds")}
    optional = {"category": args.category, "store_id": args.store}
    return "/api/v1/purchases", payload | {key: value for key, value in optional.items() if value}


def coupon_request(args: argparse.Namespace) -> tuple[str, dict]:
    code = urllib.parse.quote(args.coupon.strip(), safe="")
    basket = {"amount": args.amount} | {k: v for k, v in (("category", args.category), ("store_id", args.store)) if v}
    if args.check:
        return f"/api/v1/coupons/{code}?{urllib.parse.urlencode(basket)}", {}
    return f"/api/v1/coupons/{code}/redeem", {"txn_id": args.txn or f"T{uuid.uuid4().hex[:16]}"} | basket


def credentials(shared_secret_variable: str, demo_secret: str) -> tuple[str, str | None]:
    """The secret to sign with and the key id to send: the API key in API_KEY_ID and API_KEY_SECRET when set,
    else the shared secret in `shared_secret_variable`, else the demo's."""
    key_id = (os.environ.get("API_KEY_ID") or "").strip()
    if not key_id:
        return os.environ.get(shared_secret_variable) or demo_secret, None
    secret = (os.environ.get("API_KEY_SECRET") or "").strip()
    if not secret:
        raise SystemExit("API_KEY_ID is set but API_KEY_SECRET is not: sign with the key's secret")
    return secret, key_id


def signed_headers(secret: str, body: bytes, key_id: str | None) -> dict[str, str]:
    timestamp = str(int(time.time()))
    headers = {"X-Timestamp": timestamp, "X-Signature": sign(secret, timestamp, body)}
    return headers | ({"X-Key-Id": key_id} if key_id else {})


async def get_signed(url: str, secret: str, key_id: str | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=signed_headers(secret, b"", key_id)) as response:
            return response.status, await response.json(content_type=None)


async def post_signed(url: str, secret: str, payload: dict, key_id: str | None = None) -> tuple[int, dict]:
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json"} | signed_headers(secret, body, key_id)
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)


def run_till(args: argparse.Namespace) -> int:
    path, payload = till_request(args)
    base = args.url or f"http://127.0.0.1:{os.environ.get('BOT_PORT') or 8080}"
    secret, key_id = credentials("POS_API_SECRET", DEMO_POS_SECRET)
    url = base.rstrip("/") + path
    print(f"POST {path} {orjson.dumps(payload).decode()}" if payload else f"GET {path}")
    try:
        status, answer = asyncio.run(post_signed(url, secret, payload, key_id) if payload
                                     else get_signed(url, secret, key_id))
    except aiohttp.ClientError as error:
        print(f"cannot reach the bot at {base}: {error}")
        return 2
    print(f"{status} {orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode()}")
    return 0 if status < 300 else 1
