"""`python -m bot staff birthday …`: a staff member sets or changes a member's birthday through the
running bot's signed admin API (the change is audited with the staff id and the reason).

    python -m bot staff birthday 100023 1990-05-20 --reason "证件核对" --staff S007
    python -m bot staff birthday 100023 2020-闰04-26 --lunar --reason "会员来电更正" --staff S007

Signed with the API key API_KEY_ID / API_KEY_SECRET when set (a crm or admin key), else with
ADMIN_API_SECRET, else with the demo's: the tills' secret does not reach the admin API.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import uuid

import aiohttp
import orjson

from ..settings import DEMO_ADMIN_SECRET
from .till_client import credentials, post_signed


def add_staff_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    birthday = actions.add_parser("birthday", help="set or change a member's birthday (audited)")
    birthday.add_argument("member_id")
    birthday.add_argument("date", help="YYYY-MM-DD; lunar leap months as YYYY-闰MM-DD")
    birthday.add_argument("--lunar", action="store_true", help="the date is on the lunar calendar")
    birthday.add_argument("--reason", required=True, help="why the birthday is changed (kept in the audit)")
    birthday.add_argument("--staff", required=True, help="the staff member's id")
    birthday.add_argument("--request", help="request id (a retry with the same id changes nothing twice)")
    birthday.add_argument("--url", help="the bot's base URL (default http://127.0.0.1:$BOT_PORT)")


def staff_request(args: argparse.Namespace) -> tuple[str, dict]:
    return f"/api/v1/admin/members/{args.member_id}/birthday", {
        "calendar": "lunar" if args.lunar else "solar", "date": args.date, "reason": args.reason,
        "staff_id": args.staff, "request_id": args.request or f"staff-{uuid.uuid4().hex[:16]}"}


def run_staff(args: argparse.Namespace) -> int:
    path, payload = staff_request(args)
    base = args.url or f"http://127.0.0.1:{os.environ.get('BOT_PORT') or 8080}"
    secret, key_id = credentials("ADMIN_API_SECRET", DEMO_ADMIN_SECRET)
    try:
        status, answer = asyncio.run(post_signed(base.rstrip("/") + path, secret, payload, key_id))
    except aiohttp.ClientError as error:
        print(f"cannot reach the bot at {base}: {error}")
        return 2
    print(f"{status} {orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode()}")
    return 0 if status < 300 else 1
