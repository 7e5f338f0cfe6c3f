"""Time comes from an injected clock so tests (and the sandbox) can move it."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

MALL_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in the mall's timezone."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(MALL_TZ)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None):
        self._now = (start or datetime(2026, 1, 15, 10, 0, tzinfo=MALL_TZ)).astimezone(MALL_TZ)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(MALL_TZ)

    def advance(self, delta: timedelta | None = None, **kwargs) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


class OffsetClock:
    """System time plus an offset that can be changed at run time (demo and end-to-end tests)."""

    def __init__(self, offset: timedelta = timedelta()):
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(MALL_TZ) + self.offset


@functools.lru_cache(maxsize=1024)      # a batch asks for the same few moments (now, its deadline) over and over
def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_epoch_ms(ms: int | str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc).astimezone(MALL_TZ)
