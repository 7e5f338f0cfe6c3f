"""Waiting for an effect another task or process makes a moment later (bounded, never a timing assertion)."""
from __future__ import annotations

import asyncio
import time


async def until(check, timeout: float = 10.0, pause: float = 0.05):
    """Poll an async check until it returns something truthy (for effects another process makes later)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(pause)
