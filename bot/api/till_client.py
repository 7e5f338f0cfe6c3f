"""`python -m bot till …`: play a till against the running bot, signing requests like a real one.

    python -m bot till --openid o_abc --amount 1234.50 [--category fashion] [--store S01]
    python -m bot till --phone 13800138000 --amount 88
    python -m bot till --code 881234567890123456 --amount 88
    python -m bot till --refund TXN --amount 20
    python -m bot till --coupon K7QH-3WXN-9PZD-R --amount 250 --category dining [--txn T1]   (use a coupon)
    python -m bot till --coupon K7QH-3WXN-9PZD-R --amount 250 --check                      (only check it)
    python -m bot till --walk-in --amount 199 [--store S01]                (a sale to a customer who is no member)
    python -m bot till --join-code TXN                                   (the join QR for that walk-in's receipt)
    python -m bot till --pay-points 500 --openid o_abc [--amount 88] [--txn T1]     (points pay at the till)
    python -m bot till --quote --openid o_abc [--amount 88]              (how many points may pay)
    python -m bot till --reverse-points REDEMPTION_ID                    (the sale was cancelled: points back)
    python -m bot till --lookup --code 881234567890123456                (the member at the counter)
    python -m bot till --collect ABCDE-FGHJK [--desk DESK-1] [--staff S001]   (the service desk hands over a gift)

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
    who.add_argument("--walk-in", action="store_true", help="a sale to a customer who is not a member")
    who.add_argument("--join-code", metavar="TXN", help="the join QR code of this walk-in sale's receipt")
    who.add_argument("--reverse-points", metavar="REDEMPTION_ID", help="give back the points of this payment")
    who.add_argument("--collect", metavar="CODE", help="hand over this gift voucher at the service desk")
    parser.add_argument("--check", action="store_true", help="with --coupon: check it without using it")
    doing = parser.add_mutually_exclusive_group()
    doing.add_argument("--pay-points", type=int, metavar="N", help="with a member: pay N points at the till")
    doing.add_argument("--quote", action="store_true", help="with a member: how many points may pay (--amount)")
    doing.add_argument("--lookup", action="store_true", help="with a member: their tier and benefits")
    parser.add_argument("--amount", help="CNY, e.g. 1234.50 (with --pay-points or --quote: the basket)")
    parser.add_argument("--desk", default="DESK-1", help="with --collect: the desk's id")
    parser.add_argument("--staff", default="S001", help="with --collect: who hands it over")
    parser.add_argument("--category", default="")
    parser.add_argument("--store", default="")
    parser.add_argument("--txn", help="txn_id (or refund_id with --refund); a new one by default")
    parser.add_argument("--url", help="the bot's base URL (default http://127.0.0.1:$BOT_PORT)")


def till_request(args: argparse.Namespace) -> tuple[str, dict]:
    """The path and body of the request the arguments ask for (an empty body: a GET)."""
    if args.collect:
        return f"/api/v1/vouchers/{_segment(args.collect)}/collect", {
            "desk_id": args.desk, "staff_id": args.staff, "request_id": args.txn or f"C{uuid.uuid4().hex[:16]}"}
    if args.join_code:
        return f"/api/v1/join-code?{urllib.parse.urlencode({'txn_id': args.join_code})}", {}
    if args.reverse_points:
        return f"/api/v1/points/redemptions/{_segment(args.reverse_points)}/reverse", {"reason": "sale cancelled"}
    if args.coupon:
        return coupon_request(args)
    if args.refund:
        return "/api/v1/refunds", {"refund_id": args.txn or f"R{uuid.uuid4().hex[:16]}", "txn_id": args.refund,
                                   "amount": _amount(args)}
    if args.walk_in:
        return "/api/v1/purchases", purchase_body(args, None)
    member = {k: v for k, v in (("openid", args.openid), ("phone", args.phone), ("member_code", args.code)) if v}
    if not member:
        raise SystemExit("python -m bot till: name the member with --openid, --phone or --code (or use --refund, "
                         "--walk-in, --coupon, --collect)")
    return member_request(args, member)


def member_request(args: argparse.Namespace, member: dict) -> tuple[str, dict]:
    if args.lookup:
        return f"/api/v1/members/lookup?{urllib.parse.urlencode(member)}", {}
    if args.quote:
        basket = {"amount": args.amount} if args.amount else {}
        return f"/api/v1/points/quote?{urllib.parse.urlencode(member | basket)}", {}
    if args.pay_points is not None:
        payment = {"redemption_id": f"P{uuid.uuid4().hex[:16]}", "member": member, "points": args.pay_points,
                   "txn_id": args.txn or f"T{uuid.uuid4().hex[:16]}"}
        optional = {"store_id": args.store, "amount": args.amount}
        return "/api/v1/points/redemptions", payment | {key: value for key, value in optional.items() if value}
    return "/api/v1/purchases", purchase_body(args, member)


def purchase_body(args: argparse.Namespace, member: dict | None) -> dict:
    payload = {"txn_id": args.txn or f"T{uuid.uuid4().hex[:16]}", "member": member, "amount": _amount(args),
               "occurred_at": datetime.now(MALL_TZ).isoformat(timespec="seconds")}
    optional = {"category": args.category, "store_id": args.store}
    return payload | {key: value for key, value in optional.items() if value}


def _amount(args: argparse.Namespace) -> str:
    if not args.amount:
        raise SystemExit("python -m bot till: --amount is required (CNY, e.g. 1234.50)")
    return args.amount


def _segment(value: str) -> str:
    return urllib.parse.quote(value.strip(), safe="")


def coupon_request(args: argparse.Namespace) -> tuple[str, dict]:
    code = urllib.parse.quote(args.coupon.strip(), safe="")
    basket = {"amount": _amount(args)} | {k: v for k, v in (("category", args.category), ("store_id", args.store)) if v}
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
