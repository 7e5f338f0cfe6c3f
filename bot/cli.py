"""`python -m bot <command>`: serve (web process), consumers (the domain events' consumers), scheduler (timed
jobs), sender (push outbox consumers), demo (everything locally), till (a purchase from the shell), staff
(audited staff actions, e.g. changing a birthday), keys (the API keys of tills and systems), member (a member's
data: export, erase), import (members from a CSV)."""
from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys

from .api.keys_command import add_keys_arguments, run_keys
from .api.staff_client import add_staff_arguments, run_staff
from .api.till_client import add_till_arguments, run_till
from .app import create_app
from .console.command import add_console_arguments, run_console
from .consumers import run_consumers
from .import_command import add_import_arguments, run_import
from .member_command import add_member_arguments, run_member
from .process import redis_for, run, start_site
from .scheduler.cli import add_scheduler_arguments, scheduler_command
from .scheduler.sender import run_sender
from .settings import Settings, SettingsError

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web process (/wechat, /api/v1, /healthz, /metrics)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--consumers", action="store_true",
                       help="also run the event consumers in this process (else `python -m bot consumers` does)")
    consumers = commands.add_parser("consumers", help="consume the domain events: notices, member facts, campaign "
                                                      "results, referrals… (run any number of them)")
    consumers.add_argument("--demo", action="store_true", help="with the demo's settings (its REDIS_URL still needed)")
    commands.add_parser("sender", help="send queued pushes to WeChat (run any number of them)")
    demo_parser = commands.add_parser("demo", help="run Redis, the WeChat sandbox and the bot together, with demo data")
    demo_parser.add_argument("--processes", type=int, default=1, choices=range(1, 9), metavar="N",
                      help="N consumers processes, and N senders and schedulers in all (default 1)")
    add_till_arguments(commands.add_parser("till", help="post a signed purchase, refund, coupon use, points "
                                                        "payment, lookup or voucher collect to the running bot"))
    add_staff_arguments(commands.add_parser("staff", help="staff actions through the running bot's admin API"))
    add_keys_arguments(commands.add_parser("keys", help="add, list and revoke the API keys of tills and systems"))
    add_console_arguments(commands.add_parser("console", help="the operator console's users (add-user)"))
    add_member_arguments(commands.add_parser("member", help="a member's data: export it as JSON, or erase it"))
    add_import_arguments(commands.add_parser("import", help="import members from a CSV (CRM, POS, online mall, "
                                                            "mini-program): phones normalised, duplicates merged"))
    add_scheduler_arguments(commands.add_parser(
        "scheduler", help="the timed jobs (any number of schedulers may run; one leads); `list`; `run JOB`"))
    args = parser.parse_args(argv)
    if args.command == "till":
        sys.exit(run_till(args))
    if args.command == "staff":
        sys.exit(run_staff(args))
    if args.command == "keys":
        sys.exit(run_keys(args))
    if args.command == "console":
        sys.exit(run_console(args))
    if args.command == "member":
        sys.exit(run_member(args))
    if args.command == "import":
        sys.exit(run_import(args))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)    # every firing; the jobs log their own outcome
    try:
        demo = args.command == "demo" or (args.command in ("scheduler", "consumers") and args.demo)
        settings = Settings.from_env(demo=demo, web=args.command in ("serve", "demo"),
                                     pii=args.command != "sender")
    except SettingsError as error:
        sys.exit(f"python -m bot {args.command}: {error}")
    if args.command == "serve":
        run(lambda stop: serve_forever(settings, args.host, stop, consumers=args.consumers))
    elif args.command == "consumers":
        if not settings.redis_url:
            sys.exit("python -m bot consumers: REDIS_URL is required (the Redis the bot uses)")
        run(lambda stop: run_consumers(settings, stop))
    elif args.command == "scheduler":
        if not settings.redis_url:
            sys.exit("python -m bot scheduler: REDIS_URL is required (the Redis the bot uses)")
        run(lambda stop: exit_with(scheduler_command(settings, args, stop)))
    elif args.command == "sender":
        run(lambda stop: run_sender(settings, stop))
    elif args.command == "demo":
        run(lambda stop: demo_command().run_demo(settings, stop, args.processes))


async def exit_with(command) -> None:
    code = await command
    if code:
        sys.exit(code)


def demo_command():
    """The demo is the one command that wires the WeChat sandbox in. It is loaded by name, when chosen, so
    that what `serve` loads (the graph import-linter checks, pyproject.toml) never includes the sandbox."""
    return importlib.import_module("bot.demo")


async def serve_forever(settings: Settings, host: str, stop: asyncio.Event, *, consumers: bool = False) -> None:
    with redis_for(settings) as settings:
        runner = await start_site(create_app(settings, background=consumers), host, settings.bot_port)
        log.info("bot listening on http://%s:%s/wechat", host, settings.bot_port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
