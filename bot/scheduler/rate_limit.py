"""One token bucket per WeChat API endpoint, in Redis, shared by every sender process.

A process takes tokens a chunk at a time (one script call) and hands them out locally, so the bucket costs
one Redis call per chunk of messages rather than one per message. Tokens a process took and did not use are
lost when it stops: the limit errs on the slow side, never the fast one.
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
    def __init__(self, scripts: Scripts, rates: Mapping[str, Rate] = DEFAULT_RATES, chunk: int = 200):
        self._scripts = scripts
        self._rates = dict(rates)
        self._chunk = chunk
        self._stock: defaultdict[str, int] = defaultdict(int)
        self._refills: dict[str, asyncio.Task] = {}

    async def acquire(self, endpoint: str) -> None:
        """Wait until the endpoint's bucket allows one more call (at once for endpoints without a rate). The next
        chunk is fetched while half of this one is left, so a steady stream of calls seldom waits for Redis."""
        if endpoint not in self._rates:
            return
        while self._stock[endpoint] <= 0:
            await asyncio.shield(self._refill(endpoint))
        self._stock[endpoint] -= 1
        if self._stock[endpoint] < self._chunk // 2:
            self._refill(endpoint)

    async def aclose(self) -> None:
        """Ends the refills under way (their tokens are lost, as on any stop), before the Redis client closes."""
        refills, self._refills = list(self._refills.values()), {}
        for refill in refills:
            refill.cancel()
        await asyncio.gather(*refills, return_exceptions=True)

    def _refill(self, endpoint: str) -> asyncio.Task:
        """The one refill of the endpoint under way, started if there is none. A refill that has ended is never
        handed out again: awaiting it would not wait, and a send finding the stock spent would spin on it."""
        refill = self._refills.get(endpoint)
        if refill is None or refill.done():
            refill = self._refills[endpoint] = asyncio.create_task(self._take_more(endpoint))
        return refill

    async def _take_more(self, endpoint: str) -> None:
        granted, wait_ms = await self.take(endpoint, min(self._chunk, self._rates[endpoint].burst))
        self._stock[endpoint] += granted
        if not granted:
            await asyncio.sleep(wait_ms / 1000)

    async def take(self, endpoint: str, want: int) -> tuple[int, int]:
        """Up to `want` tokens from the shared bucket now: (granted, ms until the next one)."""
        rate = self._rates[endpoint]
        result = await self._scripts.run("push_rate", [keys.rate_bucket(endpoint)], [rate.per_second, rate.burst,
                                                                                        want])
        return result["granted"], result["wait_ms"]
