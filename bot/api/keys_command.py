"""`python -m bot keys …`: the API keys of tills, stores and systems, kept (sealed) in the bot's Redis.

    python -m bot keys add --scope till --store S01 --label "S01 till 3"   (prints the key's secret, once)
    python -m bot keys add --scope crm --label "CRM"
    python -m bot keys list
    python -m bot keys revoke k1a2b3c4d5e6f

Runs with the bot's environment: REDIS_URL (required: the Redis the bot uses; the demo prints its embedded
one) and PII_KEY, which seals the secrets; `--demo` takes the demo's settings. A request signed with a key
carries `X-Key-Id: <key id>` and its HMAC made with the key's secret (bot/api/auth.py).
"""
from __future__ import annotations

import argparse
import asyncio

from loyalty_core.access_keys import SCOPES, AccessKey, AccessKeys
from loyalty_core.clock import SystemClock
from loyalty_core.errors import DomainError
from loyalty_core.pii import Pii
from loyalty_core.redis_store.access_keys import RedisAccessKeyStore
from loyalty_core.redis_store.connection import connect
from loyalty_core.redis_store.scripts import Scripts

from ..settings import Settings, command_settings


def add_keys_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true", help="the keys of the local demo (its PII key)")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="make a key and print its secret, once")
    add.add_argument("--scope", action="append", choices=SCOPES, required=True,
                     help="till (purchases, refunds, coupons at the till), crm (member service), admin (all of "
                          "/admin); repeat for several")
    add.add_argument("--store", default="", help="bind a till key to this store's purchases, refunds and coupons")
    add.add_argument("--label", default="", help="what the key is for, e.g. the till's name")
    actions.add_parser("list", help="every key, revoked ones too; never a secret")
    revoke = actions.add_parser("revoke", help="stop a key from signing anything, at once")
    revoke.add_argument("key_id")


def run_keys(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args, command_settings("keys", demo=args.demo)))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    redis = connect(settings.redis_url)
    keys = AccessKeys(RedisAccessKeyStore(redis, Scripts(redis)), Pii(settings.pii_key_bytes), SystemClock())
    try:
        if args.action == "add":
            made = await keys.add(args.scope, args.store.strip(), args.label.strip())
            print(describe(made.key))
            print(f"secret: {made.secret}")
            print("(shown this once: give it to the till; it signs with it and sends X-Key-Id: "
                  f"{made.key.key_id})")
        elif args.action == "list":
            for key in await keys.list():
                print(describe(key))
        else:
            print(describe(await keys.revoke(args.key_id.strip())))
    except DomainError as error:
        print(f"python -m bot keys {args.action}: {error.text}")
        return 1
    finally:
        await redis.aclose()
    return 0


def describe(key: AccessKey) -> str:
    status = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
    return (f"{key.key_id}  scopes={','.join(sorted(key.scopes))}  store={key.store_id or 'any'}  "
            f"created={key.created_at:%Y-%m-%d %H:%M}  {status}  {key.label}").rstrip()
