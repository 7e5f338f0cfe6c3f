"""`python -m bot <command>`: serve (web process), demo (everything locally), till (a purchase from the shell),
staff (audited staff actions, e.g. changing a birthday)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import Awaitable, Callable

from aiohttp import web

from .api.staff_client import add_staff_arguments, run_staff
from .api.till_client import add_till_arguments, run_till
from .embedded_redis import EmbeddedRedis
from .settings import Settings, SettingsError

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web process (/wechat, /api/v1, /healthz, /metrics)")
    serve.add_argument("--host", default="127.0.0.1")
    commands.add_parser("demo", help="run Redis, the WeChat sandbox and the bot together, with demo data")
    add_till_arguments(commands.add_parser("till", help="post a signed purchase, refund or coupon use "
                                                        "to the running bot"))
    add_staff_arguments(commands.add_parser("staff", help="staff actions through the running bot's admin API"))
    args = parser.parse_args(argv)
    if args.command == "till":
        sys.exit(run_till(args))
    if args.command == "staff":
        sys.exit(run_staff(args))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(demo=args.command == "demo")
    except SettingsError as error:
        sys.exit(f"python -m bot {args.command}: {error}")
    if args.command == "serve":
        run(lambda stop: serve_forever(settings, args.host, stop))
    elif args.command == "demo":
        from .demo import run_demo
        run(lambda stop: run_demo(settings, stop))


def run(body: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `body` on uvloop until it returns or SIGINT/SIGTERM sets its stop event."""
    async def supervised() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await body(stop)

    try:
        import uvloop
        uvloop.run(supervised())
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(supervised())


@contextlib.contextmanager
def redis_for(settings: Settings):
    """The configured Redis, or an embedded one with its data under settings.data_dir/redis."""
    if settings.redis_url:
        yield settings
        return
    with EmbeddedRedis(settings.data_dir / "redis") as server:
        yield settings.with_(redis_url=server.url)


async def serve_forever(settings: Settings, host: str, stop: asyncio.Event) -> None:
    from .app import create_app
    with redis_for(settings) as settings:
        runner = await start_site(create_app(settings, background=True), host, settings.bot_port)
        log.info("bot listening on http://%s:%s/wechat", host, settings.bot_port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
