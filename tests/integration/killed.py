"""Runs a test driver (a module of real steps that prints "<step> done" after each) in a process of its own
and kills it with SIGKILL once it has printed the step a test wants it to die after."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def kill_after(module: str, stop_after: str, env: dict[str, str]) -> list[str]:
    """The lines the driver printed; the driver is dead when this returns."""
    driver = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        env=os.environ | env | {"STOP_AFTER": stop_after})
    try:
        lines = [(await asyncio.wait_for(driver.stdout.readline(), 30)).decode().strip()]
        while lines[-1] != f"{stop_after} done":
            lines.append((await asyncio.wait_for(driver.stdout.readline(), 30)).decode().strip())
            assert lines[-1], f"the driver ended early: {lines}"
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        await driver.wait()
    assert driver.returncode == -signal.SIGKILL
    return lines
