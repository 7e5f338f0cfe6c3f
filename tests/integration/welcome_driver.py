"""A test-only driver: a real first follow and the welcome gift's steps in a process of its own, blocked
after the step named by STOP_AFTER ("follow" or "coupon"), so that a test can kill it there with SIGKILL.

Environment: REDIS_URL, OPENID, DELIVERY_KEY (of the subscribe callback), CLOCK_AT (ISO time of the injected
clock), PROGRAM_FILE, STOP_AFTER.
Prints "<step> done" after each step.
"""
from __future__ import annotations

import asyncio
import os
from datetime import datetime

from loyalty_core.redis_store.connection import connect

from bot.services import build_services
from loyalty_core.clock import ManualClock
from loyalty_core.program import load_program
from tests.integration.redemption_driver import NoSms, step_done


async def main() -> None:
    redis = connect(os.environ["REDIS_URL"])
    clock = ManualClock(datetime.fromisoformat(os.environ["CLOCK_AT"]))
    services = build_services(redis, clock, b"driver-pii-key-32-bytes-long!!!!", NoSms(),
                              program=load_program(os.environ["PROGRAM_FILE"]))
    joined = await services.members.follow(os.environ["OPENID"], os.environ["DELIVERY_KEY"])
    await step_done("follow")
    await services.welcome.give_coupon(joined.member_id)
    await step_done("coupon")
    await services.welcome.give_points(joined.member_id)
    await step_done("points")


if __name__ == "__main__":
    asyncio.run(main())
