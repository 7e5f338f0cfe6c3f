"""A till under load against several `serve` processes, as a till behaves when one of them or Redis fails: a
request that gets no answer, a refused connection or 503 is sent again — the same body with the same
idempotency key and signature — to the next serve process, until it is answered."""
from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
import orjson

from bot.api.auth import sign
from loyalty_core import keys
from loyalty_core.clock import MALL_TZ

ANSWERED_WITHIN = 60    # not a timing: a request never answered would otherwise wait for the suite's timeout


@dataclass
class TillLoad:
    ports: list[int]
    secret: str
    answers: dict[str, dict] = field(default_factory=dict)     # txn_id -> the answer the till got
    members_of: dict[str, str] = field(default_factory=dict)   # txn_id -> the member's openid
    bodies: dict[str, bytes] = field(default_factory=dict)
    tries: int = 0

    def purchases(self, openids: list[str], count: int, prefix: str) -> list[bytes]:
        occurred_at = datetime.now(MALL_TZ).isoformat(timespec="seconds")
        bodies = []
        for n, openid in zip(range(count), itertools.cycle(openids)):
            txn_id = f"{prefix}-{n:05d}"
            self.members_of[txn_id] = openid
            self.bodies[txn_id] = orjson.dumps({"txn_id": txn_id, "member": {"openid": openid},
                                                "amount": f"{n % 90 + 10}.00", "category": "fashion",
                                                "store_id": "S01", "occurred_at": occurred_at})
            bodies.append(self.bodies[txn_id])
        return bodies

    async def run(self, bodies: list[bytes], concurrency: int = 20,
                  hold: tuple[int, asyncio.Event] | None = None) -> None:
        """Book every purchase over `concurrency` lanes; `hold` (count, event): once count are answered, no new
        request starts until the event is set, so that a test's fault lands mid-load however fast the machine."""
        queue = iter(enumerate(bodies))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async def lane() -> None:
                for n, body in queue:
                    if hold and len(self.answers) >= hold[0]:
                        await hold[1].wait()
                    await self.book(session, body, first_port=n)
            await asyncio.gather(*(lane() for _ in range(concurrency)))

    async def book(self, session: aiohttp.ClientSession, body: bytes, first_port: int = 0) -> dict:
        timestamp = str(int(time.time()))
        headers = {"X-Timestamp": timestamp, "X-Signature": sign(self.secret, timestamp, body),
                   "Content-Type": "application/json"}
        deadline = time.monotonic() + ANSWERED_WITHIN
        for attempt in itertools.count(first_port):
            self.tries += 1
            port = self.ports[attempt % len(self.ports)]
            try:
                async with session.post(f"http://127.0.0.1:{port}/api/v1/purchases", data=body,
                                        headers=headers) as response:
                    if response.status == 200:
                        answer = await response.json()
                        self.answers[orjson.loads(body)["txn_id"]] = answer
                        return answer
                    assert response.status == 503, (response.status, await response.text())
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass                                   # the process died or Redis is away: the same request again
            assert time.monotonic() < deadline, f"no answer within {ANSWERED_WITHIN} s"
            await asyncio.sleep(0.05)
        raise AssertionError("unreachable")

    async def replayed(self, port: int) -> dict[str, dict]:
        """Every purchase sent once more, signed anew (a till's late retry): the answers it gets now."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            again = TillLoad([port], self.secret)
            return {txn_id: await again.book(session, self.bodies[txn_id]) for txn_id in self.answers}


async def assert_booked_once(services, load: TillLoad, member_ids: dict[str, str]) -> None:
    """Every purchase the till was answered for is in its member's ledger once, and each balance is the sum of
    the points its answers said, counted once."""
    for openid, member_id in member_ids.items():
        mine = {txn: answer for txn, answer in load.answers.items() if load.members_of[txn] == openid}
        history = [orjson.loads(e) for e in await services.redis.lrange(keys.points_history(member_id), 0, -1)]
        assert sorted(e["ref"] for e in history if e["kind"] == "purchase") == sorted(mine)
        balance = (await services.points.summary(member_id, services.clock.now())).balance
        assert balance == sum(answer["points_earned"] for answer in mine.values())
