"""The web process through a Redis outage, against a private redis-server that the test stops and starts again
(AOF with appendfsync always, so that what Redis acknowledged survives a crash): a port that refuses connections
(the server crashed, SIGKILL) and a server that hangs (SIGSTOP).

Tills get 503 `unavailable` with Retry-After, /healthz 503, WeChat the short busy text in time; the process
recovers by itself when Redis is back; every purchase a till got a 200 for is in the ledger, none twice, and the
till's retries of the others book each once. The background loops ride it out, logging it once."""
from __future__ import annotations

import asyncio
import logging
import os
import signal

import orjson
import pytest

from bot.embedded_redis import EmbeddedRedis
from bot.events import every
from loyalty_core import keys
from loyalty_core.redis_store.connection import connect
from loyalty_core.redis_store.stream_consumer import StreamConsumer
from tests.integration.till import Answer, Till, new_txn_id
from tests.polling import until
from tests.wechat_peer import WeChatPeer, text_xml

BUSY = "系统繁忙，请稍后再试。"
ANSWERED_WITHIN = 30     # not a timing: a request that hangs would otherwise wait for the suite's timeout


class PrivateRedis:
    """A redis-server of the test's own, to crash, hang, resume and start again on the same port and data."""

    def __init__(self, folder):
        self.server = EmbeddedRedis(folder, appendfsync="always").start()
        self.hung = False

    @property
    def url(self) -> str:
        return self.server.url

    def crash(self) -> None:
        os.kill(self.server.pid, signal.SIGKILL)
        self.server.stop()               # reaps the process

    def restart(self) -> None:
        self.server = EmbeddedRedis(self.server.data_dir, self.server.port, appendfsync="always").start()

    def hang(self) -> None:
        os.kill(self.server.pid, signal.SIGSTOP)
        self.hung = True

    def resume(self) -> None:
        os.kill(self.server.pid, signal.SIGCONT)
        self.hung = False

    def stop(self) -> None:
        if self.hung:
            self.resume()
        self.server.stop()


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
async def till(start_bot, clock, private_redis) -> Till:
    till = Till(await start_bot(redis_url=private_redis.url), clock)
    await till.services.members.follow("o_ann", "evt:o_ann")
    return till


async def purchases(till: Till, bodies: list[dict]) -> list[Answer]:
    sent = asyncio.gather(*(till.post("/api/v1/purchases", body) for body in bodies))
    return await asyncio.wait_for(sent, ANSWERED_WITHIN)


async def book(till: Till, bodies: list[dict]) -> dict[str, Answer]:
    """txn_id -> the till's answer (of its last try, when a txn_id is sent twice)."""
    return {body["txn_id"]: answer for body, answer in zip(bodies, await purchases(till, bodies))}


@pytest.fixture
async def booked_before(till) -> dict[str, Answer]:
    """Purchases a till got a 200 for before the outage."""
    return await book(till, bodies(till, 3))


def bodies(till: Till, count: int, amount: str = "10.00") -> list[dict]:
    return [till.purchase_body({"openid": "o_ann"}, amount, txn_id=new_txn_id()) for _ in range(count)]


async def assert_unavailable(till: Till, during: list[dict]) -> list[Answer]:
    """Purchases, /healthz and a WeChat message at once, while Redis is away."""
    answers, health, reply = await asyncio.wait_for(asyncio.gather(
        purchases(till, during), till.client.get("/healthz"), WeChatPeer(till.client).post(text_xml("o_ann", "积分"))),
        ANSWERED_WITHIN)
    for answer in answers:
        assert (answer.status, answer.error) == (503, "unavailable")
    assert answers[0].json["error"]["message"].startswith("the member database is unavailable for a moment")
    assert (health.status, health.headers["Retry-After"]) == (503, "5")
    assert (reply.status, reply.content) == (200, BUSY)
    return answers


async def assert_booked_once(till: Till, answers: dict[str, Answer]) -> None:
    """Every txn that got a 200 is in the member's ledger once; the balance is their points, counted once."""
    assert {answer.status for answer in answers.values()} == {200}
    services = till.services
    member_id = await services.members.member_id_for_openid("o_ann")
    booked = await services.redis.hkeys(keys.member_purchases(member_id))
    assert sorted(booked) == sorted(answers)
    history = [orjson.loads(entry) for entry in await services.redis.lrange(keys.points_history(member_id), 0, -1)]
    assert sorted(entry["ref"] for entry in history if entry["kind"] == "purchase") == sorted(answers)
    balance = (await services.points.summary(member_id, till.clock.now())).balance
    assert balance == sum(answer.json["points_earned"] for answer in answers.values())


async def test_a_crashed_redis_gets_503s_and_the_process_recovers_when_it_is_back(till, private_redis,
                                                                                   booked_before):
    private_redis.crash()
    during = bodies(till, 10)
    await assert_unavailable(till, during)

    private_redis.restart()                                        # the same port and data, the same bot process
    refused_txns = [keys.txn_index(body["txn_id"]) for body in during]
    assert await till.services.redis.exists(*refused_txns) == 0     # a refused purchase wrote nothing
    after = await book(till, bodies(till, 3))
    retried = await book(till, during)                              # the till sends the refused ones again
    assert (await till.client.get("/healthz")).status == 200
    await assert_booked_once(till, booked_before | after | retried)


async def test_a_hanging_redis_gets_503s_within_the_timeouts_and_the_retries_book_once(till, private_redis,
                                                                                       booked_before):
    private_redis.hang()
    during = bodies(till, 10)
    await assert_unavailable(till, during)

    private_redis.resume()     # what reached Redis before the timeouts is carried out now: the retries find it
    twice = await purchases(till, during + during)                  # and a till may retry twice at once
    assert {answer.status for answer in twice} == {200} and twice[:10] == twice[10:]
    await assert_booked_once(till, booked_before | await book(till, during))


# -- the background loops ------------------------------------------------------------------------------------
# Their Redis client times out sooner than the production one: what is tested is the loop, not the timeout.
def quick_client(server: PrivateRedis):
    return connect(server.url, socket_timeout=0.5)


def holds(predicate):
    async def check():
        return predicate()
    return check


def outage_lines(caplog, what: str) -> list[str]:
    return [record.getMessage().split(" (")[0].split(" after")[0] for record in caplog.records
            if record.getMessage().startswith(what)]


async def test_a_consumer_rides_out_a_crash_logging_it_once_and_goes_on_after(private_redis, caplog):
    redis = quick_client(private_redis)
    handled: list[str] = []

    async def on_event(event: dict) -> None:
        handled.append(event["event_id"])

    consumer = StreamConsumer(redis, "outage-test", "c1", {"tested": on_event})
    await consumer.ensure_group()
    stop = asyncio.Event()
    caplog.set_level(logging.INFO)
    running = asyncio.create_task(consumer.run(stop, block_ms=50, pause_after_error=0.05))
    try:
        private_redis.crash()
        assert await until(holds(lambda: consumer.outage.failures >= 3))
        private_redis.restart()
        assert await until(holds(lambda: consumer.outage.failures == 0))
        await redis.xadd(keys.OUTBOX_STREAM, {"event_id": "e-1", "type": "tested", "event": '{"event_id": "e-1"}'})
        assert await until(holds(lambda: handled == ["e-1"]))
    finally:
        stop.set()
        await asyncio.wait_for(running, ANSWERED_WITHIN)
        await redis.aclose()
    assert outage_lines(caplog, "consumer outage-test") == [
        "consumer outage-test: Redis unavailable", "consumer outage-test: Redis back"]


async def test_a_housekeeping_loop_rides_out_a_hang_logging_it_once(private_redis, caplog):
    redis = quick_client(private_redis)
    rounds: list[bool] = []

    async def sweep() -> None:
        rounds.append(False)
        await redis.zrangebyscore(keys.OUTBOX_DIRTY, "-inf", "+inf")
        rounds[-1] = True

    stop = asyncio.Event()
    caplog.set_level(logging.INFO)
    running = asyncio.create_task(every(0.05, sweep, stop))
    try:
        assert await until(holds(lambda: any(rounds)))
        private_redis.hang()
        assert await until(holds(lambda: rounds[-4:-1] == [False] * 3))
        private_redis.resume()
        assert await until(holds(lambda: rounds[-1]))
    finally:
        stop.set()
        await asyncio.wait_for(running, ANSWERED_WITHIN)
        await redis.aclose()
    name = "background job test_a_housekeeping_loop_rides_out_a_hang_logging_it_once.<locals>.sweep"
    assert outage_lines(caplog, name) == [f"{name}: Redis unavailable", f"{name}: Redis back"]
