"""A test-only driver: runs the real redemption saga step by step in its own process and blocks after
the step named by STOP_AFTER ("reserve" or "pay"), so a test can kill it there with SIGKILL.

Environment: REDIS_URL, MEMBER_ID, ITEM_ID, REDEMPTION_ID, CLOCK_AT (ISO time of the injected clock),
STOP_AFTER. Prints "<step> done" after each step.
"""
from __future__ import annotations

import asyncio
import os
from datetime import datetime

from loyalty_core.redis_store.connection import connect

from bot.services import build_services
from loyalty_core.clock import ManualClock


class NoSms:
    async def send_code(self, phone: str, code: str, *, valid_minutes: int) -> None:
        raise RuntimeError("the driver sends no SMS")


async def main() -> None:
    redis = connect(os.environ["REDIS_URL"])
    clock = ManualClock(datetime.fromisoformat(os.environ["CLOCK_AT"]))
    redemption = build_services(redis, clock, b"driver-pii-key-32-bytes-long!!!!", NoSms()).redemption
    item = await redemption.item(os.environ["ITEM_ID"])
    reservation = await redemption.reserve(os.environ["MEMBER_ID"], item, os.environ["REDEMPTION_ID"])
    await step_done("reserve")
    await redemption.pay(reservation)
    await step_done("pay")
    await redemption.fulfil(reservation, item)
    await redemption.confirm(reservation)
    await step_done("confirm")


async def step_done(step: str) -> None:
    print(f"{step} done", flush=True)
    if os.environ.get("STOP_AFTER") == step:
        await asyncio.Event().wait()          # blocked here until the test kills the process


if __name__ == "__main__":
    asyncio.run(main())
