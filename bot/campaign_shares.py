"""A campaign's send split between processes: one campaign to a million members keeps a processor busy for minutes
with its Python work (texts, coupons, pushes), while Redis has time to spare. Each process delivers the members
of its share (campaign_rules.share_of) over its own connection; the process that called `send` delivers the first
share itself, waits for the others, then closes the campaign. A process that fails leaves the campaign sending:
calling `send` again takes it up, since every step is once per member."""
from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path

from loyalty_core.clock import Clock, ManualClock, SystemClock
from loyalty_core.program import load_program
from loyalty_core.redis_store.connection import connect


@dataclass(frozen=True)
class ShareWorker:
    """What a process needs to build the services the caller has (sent to it whole, so it must pickle)."""
    redis_url: str
    pii_key: bytes
    program_file: Path | None = None
    push_partitions: int = 8
    public_base_url: str = "http://127.0.0.1:8080"
    fixed_now: datetime | None = None     # a benchmark's or a test's moment; None: the system clock
    socket_timeout: float | None = None   # seconds a reply may take; None: the usual

    def clock(self) -> Clock:
        return ManualClock(self.fixed_now) if self.fixed_now else SystemClock()


class ProcessShares:
    def __init__(self, worker: ShareWorker, count: int = 2):
        if count < 1:
            raise ValueError("count: at least 1")
        self.worker = worker
        self.count = count

    async def deliver(self, campaign_id: str, run: str) -> None:
        """Shares 1 to count - 1, each in a process of its own (the caller delivers share 0)."""
        if self.count == 1:
            return
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(self.count - 1, mp_context=get_context("spawn")) as pool:
            ended = await asyncio.gather(*(loop.run_in_executor(pool, deliver_share, self.worker, campaign_id, run,
                                                                share, self.count)
                                           for share in range(1, self.count)), return_exceptions=True)
        for outcome in ended:
            if isinstance(outcome, BaseException):
                raise outcome


def deliver_share(worker: ShareWorker, campaign_id: str, run: str, share: int, count: int) -> bool:
    """One process's share (run in the pool's process), on uvloop and with the collector tuned (once the services
    are built) as every long-running process of the bot."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(_deliver_share(worker, campaign_id, run, share, count))
    return uvloop.run(_deliver_share(worker, campaign_id, run, share, count))


async def _deliver_share(worker: ShareWorker, campaign_id: str, run: str, share: int, count: int) -> bool:
    from .process import tune_collector
    from .services import build_services      # the pool's process imports the services only when it works
    from .sms import LogSmsSender
    redis = connect(worker.redis_url, max_connections=64, socket_timeout=worker.socket_timeout)
    try:
        services = build_services(redis, worker.clock(), worker.pii_key, LogSmsSender(),
                                  program=load_program(worker.program_file), push_partitions=worker.push_partitions,
                                  public_base_url=worker.public_base_url)
        tune_collector()
        return await services.campaigns.deliver_share(campaign_id, run, share, count)
    finally:
        await redis.aclose()
