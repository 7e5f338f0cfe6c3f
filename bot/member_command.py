"""`python -m bot member export MEMBER_ID [--out FILE]` and `python -m bot member erase MEMBER_ID --reason TEXT`:
a member's data rights, as the service desk carries them out. Both are in the console's audit log (by `cli`).
Runs with the bot's environment: REDIS_URL (required) and PII_KEY, which opens the phone and the birthday for
the export; `--demo` takes the demo's settings."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson

from loyalty_core.clock import SystemClock
from loyalty_core.errors import DomainError
from loyalty_core.program import load_program
from loyalty_core.redis_store.connection import connect

from .services import build_services
from .settings import Settings, command_settings
from .sms import LogSmsSender

CLI_USER = "cli"


def add_member_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true", help="with the demo's settings (its PII key)")
    actions = parser.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="everything held about the member, as JSON (for their request)")
    export.add_argument("member_id")
    export.add_argument("--out", help="write the JSON to this file (else standard output)")
    erase = actions.add_parser("erase", help="erase the member's personal data (the books keep the amounts)")
    erase.add_argument("member_id")
    erase.add_argument("--reason", required=True, help="why, e.g. the member's request and its date")


def run_member(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args, command_settings("member", demo=args.demo, web=False)))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    redis = connect(settings.redis_url)
    services = build_services(redis, SystemClock(), settings.pii_key_bytes, LogSmsSender(),
                              program=load_program(settings.program_file))
    member_id = args.member_id.strip()
    try:
        if args.action == "export":
            document = await services.personal_data.export(member_id)
            await services.console.record(CLI_USER, "member.export", member_id, "", f"out={args.out or 'stdout'}")
            write_export(document, args.out)
        else:
            erased = await services.personal_data.erase(member_id, args.reason)
            await services.console.record(CLI_USER, "member.erase", member_id, erased.reason, describe(erased))
            print(f"member {member_id} erased at {erased.erased_at:%Y-%m-%d %H:%M}"
                  f"{' (already; what was left is done)' if erased.already else ''}: {describe(erased)}")
    except DomainError as error:
        print(f"python -m bot member {args.action}: {error.text}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()
    return 0


def write_export(document: dict, out: str | None) -> None:
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    if out:
        Path(out).write_bytes(body + b"\n")
    else:
        sys.stdout.write(body.decode() + "\n")


def describe(erased) -> str:
    return " ".join(f"{name}={count}" for name, count in sorted(erased.copies_removed.items()))
