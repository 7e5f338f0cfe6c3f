"""`python -m bot console add-user EMAIL --role ROLE`: a console user, the password read from standard input (one
line; typed at a prompt that does not echo it when standard input is a terminal). Needs REDIS_URL (the Redis the
bot uses; the demo prints its embedded one)."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from loyalty_core.clock import SystemClock
from loyalty_core.console_access import ROLES
from loyalty_core.errors import DomainError
from loyalty_core.redis_store.connection import connect
from loyalty_core.redis_store.scripts import Scripts

from ..services import console_accounts

CLI_USER = "cli"                      # who the audit log names for a user added from the shell


def add_console_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add-user", help="add a console user; the password is read from standard input")
    add.add_argument("email")
    add.add_argument("--role", choices=list(ROLES), required=True)


def run_console(args: argparse.Namespace) -> int:
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url.startswith(("redis://", "rediss://", "unix://", "redis+cluster://")):
        raise SystemExit("python -m bot console: REDIS_URL is required (the Redis the bot uses; `python -m bot demo` "
                         "prints the URL of its embedded one)")
    return asyncio.run(_add_user(redis_url, args.email, args.role, read_password()))


def read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\r\n")


async def _add_user(redis_url: str, email: str, role: str, password: str) -> int:
    redis = connect(redis_url)
    try:
        user = await console_accounts(redis, Scripts(redis), SystemClock()).add_user(email, role, password,
                                                                                     by=CLI_USER)
    except DomainError as error:
        print(f"python -m bot console add-user: {error.text}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    print(f"added {user.email} ({user.role})")
    return 0
