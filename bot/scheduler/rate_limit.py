"""One token bucket per WeChat API endpoint, in Redis, shared by every sender process.

A process takes tokens a few at a time (at most `chunk`, one script call) and hands them out locally, so
the bucket costs one Redis call per chunk of messages rather than one per message. Tokens a process took
and did not use are lost when it stops: the limit errs on the slow side, never the fast one.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

from loyalty_core import keys
from loyalty_core.redis_store.scripts import Scripts


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    def __post_init__(self):
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_second > 0 and burst ≥ 1")


# The platform documents daily quotas for most send endpoints (enforced by its answers: 45009, never retried)
# and a per-minute limit for mass sends (60 calls); these rates keep our calls well inside them.
DEFAULT_RATES: Mapping[str, Rate] = {
    "message/custom/send": Rate(10_000, 1_000),
    "message/template/send": Rate(1_000, 200),
    "message/subscribe/bizsend": Rate(1_000, 200),
    "message/mass/send": Rate(50 / 60, 5),       # ≤ 55 calls in any minute
}


class RateLimiter:
    def __init__(self, scripts: Scripts, rates: Mapping[str, Rate] = DEFAULT_RATES, chunk: int = 50):
        self._scripts = scripts
        self._rates = dict(rates)
        self._chunk = chunk
        self._stock: defaultdict[str, int] = defaultdict(int)
        self._refills: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def acquire(self, endpoint: str) -> None:
        """Wait until the endpoint's bucket allows one more call (at once for endpoints without a rate)."""
        rate = self._rates.get(endpoint)
        if rate is None:
            return
        while self._stock[endpoint] <= 0:
            async with self._refills[endpoint]:
                if self._stock[endpoint] > 0:
                    break
                granted, wait_ms = await self.take(endpoint, min(self._chunk, rate.burst))
                self._stock[endpoint] += granted
                if not granted:
                    await asyncio.sleep(wait_ms / 1000)
        self._stock[endpoint] -= 1

    async def take(self, endpoint: str, want: int) -> tuple[int, int]:
        """Up to `want` tokens from the shared bucket now: (granted, ms until the next one)."""
        rate = self._rates[endpoint]
        result = await self._scripts.run("push_rate", [keys.rate_bucket(endpoint)], [rate.per_second, rate.burst,
                                                                                        want])
        return result["granted"], result["wait_ms"]
