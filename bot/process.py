"""Process plumbing every long-running command shares: the event loop with signal handling, Redis (the
configured one or an embedded one) and a listening site."""
from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Awaitable, Callable

from aiohttp import web

from .embedded_redis import EmbeddedRedis
from .settings import Settings


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


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
