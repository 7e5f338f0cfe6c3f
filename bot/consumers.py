"""`python -m bot consumers`: the event consumers and the housekeeping loops (bot/events.py) in a process of
their own, so that the work every purchase fans out to (notices, member facts, campaign results, surveys,
referrals, indexes) does not take the processor time of the till API and the WeChat gateway. Any number of
these processes may run: each consumer group shares the stream's entries out among them, and every step is
idempotent, so a process killed mid-entry leaves it pending for another to reclaim."""
from __future__ import annotations

import asyncio
import logging

from loyalty_core.keys import OUTBOX_STREAM
from loyalty_core.program import load_program

from .app import connected_services
from .events import background_work, consumer_name
from .settings import Settings

log = logging.getLogger("bot.consumers")


async def run_consumers(settings: Settings, stop: asyncio.Event) -> None:
    """Consume the domain events until SIGINT/SIGTERM sets `stop`."""
    program = load_program(settings.program_file)
    async with connected_services(settings, program) as services, background_work(services):
        log.info("consumers %s reading %s", consumer_name(), OUTBOX_STREAM)
        await stop.wait()
    log.info("consumers %s stopped", consumer_name())
