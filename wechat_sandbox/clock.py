"""The sandbox's clock: real time plus an offset the control API moves (48 h windows, monthly quotas)."""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

PLATFORM_TZ = ZoneInfo("Asia/Shanghai")


class SandboxClock:
    def __init__(self, wall=time.time):
        self._wall = wall
        self.offset = 0.0

    def now(self) -> float:
        return self._wall() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()

    def local(self, moment: float | None = None) -> datetime:
        return datetime.fromtimestamp(self.now() if moment is None else moment, PLATFORM_TZ)

    def day(self, moment: float | None = None) -> str:
        return self.local(moment).strftime("%Y-%m-%d")

    def month(self, moment: float | None = None) -> str:
        return self.local(moment).strftime("%Y-%m")
