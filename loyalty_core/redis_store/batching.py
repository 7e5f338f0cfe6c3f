"""Automatic pipelining: the Redis commands that concurrent requests issue in one event-loop turn go
out as one pipeline. Under load this shares one round trip and redis-py's per-call overhead among
dozens of requests (about a quarter of the CPU per command, measured); alone, a command waits one
loop turn at most. Commands stay independent: each gets its own result or exception.

`linger` (seconds) lets a batch wait that long for more commands: a throughput process (the push sender,
whose hundreds of calls finish at scattered moments) trades a millisecond or two per command for several
times fewer round trips. The web process keeps 0: a callback's command goes out on the next loop turn."""
from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from . import cluster_pipeline
from .connection import ClusterClient, HiredisPackingConnection


class Batcher:
    def __init__(self, redis: Redis, max_batch: int = 256, linger: float = 0.0):
        self.redis = redis
        self._max_batch = max_batch
        self._linger = linger
        self._pending: list[tuple[tuple, dict, asyncio.Future]] = []
        self._flush_scheduled = False
        self._in_flight: set[asyncio.Task] = set()

    def call(self, *args: Any) -> asyncio.Future:
        """Queue one command, e.g. call("SET", key, value, "NX", "EX", 300); await the returned future."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((args, future))
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            if self._linger:
                loop.call_later(self._linger, self._flush)
            else:
                loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(batch))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _send(self, batch: list[tuple[tuple, asyncio.Future]]) -> None:
        try:
            results = await pipelined(self.redis, [args for args, _ in batch], errors_in_place=True)
        except BaseException as failure:  # the connection failed: every command in the batch failed
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure if isinstance(failure, Exception) else ConnectionError())
            if not isinstance(failure, Exception):
                raise
            return
        for (_, future), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


async def pipelined(redis: Redis, commands: list[tuple], *, errors_in_place: bool = False) -> list:
    """Commands a batch of work has ready at once, in one pipeline; the answers in order (the first error is
    raised, after every command ran; `errors_in_place`: each error in its command's place instead)."""
    if not commands:
        return []
    pool = getattr(redis, "connection_pool", None)      # a RedisCluster has a pool per node
    if isinstance(redis, ClusterClient):
        answers = _with_callbacks(redis, commands, await cluster_pipeline.exchange(redis, commands))
    elif pool is not None and issubclass(pool.connection_class, HiredisPackingConnection):
        answers = _with_callbacks(redis, commands, await _exchange(redis, commands))
    else:
        async with redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            answers = await pipe.execute(raise_on_error=False)
    if not errors_in_place:
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
    return answers


async def _exchange(redis: Redis, commands: list[tuple]) -> list:
    """Once more on a fresh connection if the pooled one was found broken (Redis restarted), as redis-py does."""
    pool = redis.connection_pool
    for attempt in (1, 2):
        connection = await pool.get_connection()
        try:
            return await connection.exchange(commands)
        except RedisConnectionError:
            if attempt == 2:
                raise
        finally:
            await pool.release(connection)


def _with_callbacks(redis: Redis, commands: list[tuple], replies: list) -> list:
    """The replies as redis-py's commands would answer them (SET ... NX: True or None, say)."""
    callbacks = {name: redis.response_callbacks.get(name) for name in {command[0] for command in commands}}
    answers = []
    for command, reply in zip(commands, replies):
        callback = callbacks[command[0]]
        answers.append(reply if callback is None or isinstance(reply, Exception) else callback(reply))
    return answers
