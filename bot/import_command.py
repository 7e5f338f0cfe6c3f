"""`python -m bot import members FILE [--source crm|pos|mall|miniprogram] [--map COLUMN=FIELD …] [--report PATH]`:
members from a CSV export (loyalty_core/member_import.py), with a progress line and a summary at the end. Runs
with the bot's environment: REDIS_URL (required) and PII_KEY; `--demo` takes the demo's PII key. Stopped
(Ctrl-C) or cut short, the same command again completes the import."""
from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from loyalty_core.clock import SystemClock
from loyalty_core.member_import import MemberImport
from loyalty_core.member_import_rules import SOURCES, ColumnMapError, ImportRefused, Summary, parse_column_map
from loyalty_core.pii import Pii
from loyalty_core.redis_store.connection import connect
from loyalty_core.redis_store.member_import import RedisImportStore
from loyalty_core.redis_store.scripts import Scripts

from .settings import DEMO_PII_KEY

COMMAND = "python -m bot import members"


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true", help="with the demo's PII key (its REDIS_URL still needed)")
    kinds = parser.add_subparsers(dest="kind", required=True)
    members = kinds.add_parser("members", help="members from a CSV with a header row")
    members.add_argument("file", type=Path)
    members.add_argument("--source", choices=SOURCES, default="crm", help="the system the file comes from")
    members.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                         help="a column of the file for a field (phone, name, openid, birthday, gender, email, "
                              "member_no), e.g. --map 手机号=phone; repeat for several")
    members.add_argument("--report", type=Path, default=None,
                         help="where the rejected rows go (CSV; default FILE.report.csv beside the file)")


def run_import(args: argparse.Namespace) -> int:
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if not redis_url.startswith(("redis://", "rediss://", "unix://", "redis+cluster://")):
        raise SystemExit(f"{COMMAND}: REDIS_URL is required (the Redis the bot uses)")
    try:
        column_map = parse_column_map(args.map)
        pii_key = pii_key_from_env(args.demo)
    except (ColumnMapError, ValueError) as error:
        raise SystemExit(f"{COMMAND}: {error}") from None
    if not args.file.is_file():
        raise SystemExit(f"{COMMAND}: {args.file} is not a readable file")
    report = args.report or args.file.with_name(args.file.name + ".report.csv")
    try:
        return asyncio.run(import_members(redis_url, pii_key, args.file, args.source, column_map, report))
    except KeyboardInterrupt:
        print(f"\n{COMMAND}: stopped; the same command again completes the import", file=sys.stderr)
        return 130


def pii_key_from_env(demo: bool) -> bytes:
    """The key that seals personal data: PII_KEY (base64 of 32 bytes), the demo's with --demo."""
    raw = os.environ.get("PII_KEY", "").strip() or (DEMO_PII_KEY if demo else "")
    if not raw:
        raise ValueError("PII_KEY is required: the key the bot seals personal data with")
    if raw == DEMO_PII_KEY and not demo:
        raise ValueError("PII_KEY is the demo key, which is public: use the bot's own")
    try:
        key = base64.b64decode(raw, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise ValueError("PII_KEY must be base64 of exactly 32 bytes")
    return key


async def import_members(redis_url: str, pii_key: bytes, path: Path, source: str, column_map: dict,
                         report: Path, out: TextIO = sys.stderr) -> int:
    redis = connect(redis_url)
    service = MemberImport(RedisImportStore(redis, Scripts(redis)), Pii(pii_key), SystemClock())
    progress = Progress(out)
    try:
        result = await service.run(path, source, column_map, report, progress.show)
    except ImportRefused as error:
        print(f"\n{COMMAND}: {error}", file=sys.stderr)
        return 2
    finally:
        await redis.aclose()
    progress.end()
    print(summary_text(result.summary, report), file=sys.stdout)
    return 0


class Progress:
    """One line, rewritten in place: rows done and rows a second."""

    def __init__(self, out: TextIO):
        self._out = out
        self._started = time.monotonic()
        self.rows = 0

    def show(self, rows: int) -> None:
        self.rows = rows
        rate = rows / max(time.monotonic() - self._started, 1e-6)
        self._out.write(f"\r{rows:,} rows · {rate:,.0f} rows/s")
        self._out.flush()

    def end(self) -> None:
        self._out.write(f"\r{self.rows:,} rows in {time.monotonic() - self._started:.1f} s\n")
        self._out.flush()


def summary_text(summary: Summary, report: Path) -> str:
    lines = [f"rows      {summary.rows:,}", f"created   {summary.created:,}", f"merged    {summary.merged:,}",
             f"unchanged {summary.unchanged:,}", f"rejected  {summary.rejected_total:,}"]
    lines += [f"  {reason:<18}{count:,}" for reason, count in sorted(summary.rejected.items())]
    if summary.rejected_total:
        lines.append(f"rejected rows: {report}")
    return "\n".join(lines)
