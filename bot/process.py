"""Process plumbing every long-running command shares: the event loop with signal handling, Redis (the
configured one or an embedded one) and a listening site."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from typing import Awaitable, Callable

from aiohttp import web

from .embedded_redis import EmbeddedRedis
from .settings import Settings

# Python's cyclic collector, by default, looks for cycles after every 700 new containers (dicts, lists, objects)
# and, every few hundred of those rounds, through every object the process holds. A campaign's send makes a few
# dozen short-lived containers per member, which reference counting frees: the collector cost its sending process
# about a seventh of its processor time (measured with gc.callbacks), finding almost nothing. Long-running processes
# therefore move what they made at start (modules, the program, templates) out of its sight and let it run after
# 50,000 new containers instead: a cycle that forms (a failure's traceback, say) waits a little longer to be freed.
COLLECT_AFTER = (50_000, 20, 10)


def tune_collector() -> None:
    gc.freeze()
    gc.set_threshold(*COLLECT_AFTER)


def run(body: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `body` on uvloop until it returns or SIGINT/SIGTERM sets its stop event (the collector tuned first)."""
    async def supervised() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await body(stop)

    tune_collector()
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
