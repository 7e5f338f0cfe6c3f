"""The Redis client the processes use: redis-py asyncio, with commands packed by hiredis, bounded timeouts,
and what an outage looks like to the rest of the program.

redis-py's asyncio connection packs commands in Python; for the argument lists of our Lua scripts
that was about a seventh of the web process's CPU under load. hiredis packs the same bytes (checked
in tests) several times faster.

Timeouts. redis-py's defaults from a URL wait for ever: a Redis that hangs (stopped, swapping, a network
that drops packets) would hold every request. redis-py's own `socket_timeout` puts a timer around every
reply read and a task around every send, which cost a third of the client's throughput on pipelines
(measured); so the timeout is kept by the parser instead, one timer per read from the socket, which holds
all the replies of a pipeline that have arrived. The values:
- CONNECT_TIMEOUT_SECONDS = 3: a TCP connect to Redis on the same host or LAN takes well under a
  millisecond, and a refused port answers at once. But a SYN can be lost (or dropped by a Redis whose accept
  queue is full while it is busy), and Linux sends it again 1 s later: a 1 s timeout gives up just as the second SYN
  goes out (and connects did time out so on a loaded two-core machine); 3 s leaves room for it.
- COMMAND_TIMEOUT_SECONDS = 2: our commands and scripts take milliseconds. Two seconds cover Redis's own
  stalls (an AOF fsync of `everysec` delays writes by up to 2 s on a busy disk; a fork for an AOF rewrite)
  and the outbox consumers' blocking reads of 1 s, and leave a till an answer within a few seconds. The
  callback gateway has its own deadline inside WeChat's 5 s (bot/dispatch.py), whatever Redis does.
- One immediate retry, on a broken connection only: after Redis restarted, a pooled connection it closed is
  found dead by the first command sent on it, and that command goes again on a new connection. No retry
  after a timeout, and no backoff: waiting would stretch an outage into every request. The callers answer
  at once (503 to a till, a short "busy" text to a member) and try again later (the till, WeChat, the
  background loops); every state change is idempotent by its natural key, so a command that reached Redis
  before its timeout, and is sent again later, is carried out once.
So the process recovers by itself when Redis is back.

Redis Cluster: `redis+cluster://host:port` names one seed node; redis-py's asyncio RedisCluster learns the
other masters and the slot map from it, and follows MOVED/ASK redirects and failovers by itself. Every key of
one state change shares a hash tag, so each Lua script and each command runs on one node; what touches
every node (FLUSHDB, SCRIPT LOAD, SCAN) goes through `for_every_master` or redis-py's own fan-out.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time

import hiredis
import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from redis._parsers import _AsyncHiredisParser
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

CONNECT_TIMEOUT_SECONDS = 3.0
COMMAND_TIMEOUT_SECONDS = 2.0
# Redis cannot be reached, hangs, is still loading its data (BusyLoadingError is a ConnectionError) or is a
# replica during a failover; a cluster whose slots are changing hands (CLUSTERDOWN, TRYAGAIN, a slot its map
# does not cover yet): a moment to wait out, not a bug.
UNAVAILABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ReadOnlyError,
               redis_errors.ClusterDownError, redis_errors.TryAgainError, redis_errors.SlotNotCoveredError)


class HiredisPackingConnection(Connection):
    def pack_command(self, *args):
        if isinstance(args[0], str) and " " in args[0]:  # "CONFIG GET" and the like go as separate words
            args = tuple(args[0].split()) + args[1:]
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            kinds = [type(a).__name__ for a in args]
            raise redis_errors.DataError(f"invalid argument types for a Redis command: {kinds}")


    async def exchange(self, commands: list[tuple]) -> list:
        """Send the commands at once and read their replies, each error in its reply's place: a batch of work's
        pipeline without redis-py's per-reply bookkeeping (a tenth of the processor time per command). The
        replies are as Redis gives them (no response callbacks). The connection is closed on any failure, so a
        half-read answer never reaches the next user."""
        try:
            await self.send_packed_command([hiredis.pack_command(command) for command in commands],
                                           check_health=False)
            return await self._parser.read_replies(len(commands))
        except OSError as failure:            # a reset socket, as redis-py's own reads report it: Redis is away
            await self.disconnect(nowait=True)
            raise redis_errors.ConnectionError(f"connection to Redis lost: {failure}") from failure
        except BaseException:
            await self.disconnect(nowait=True)
            raise


class BoundedReadParser(_AsyncHiredisParser):
    """hiredis's parser, waiting at most `read_timeout` seconds for each read from the socket."""
    read_timeout = COMMAND_TIMEOUT_SECONDS

    async def read_replies(self, count: int) -> list:
        replies, reader = [], self._reader
        while len(replies) < count:
            reply = reader.gets()
            if reply is NOT_ENOUGH_DATA:
                await self.read_from_socket()
            else:
                replies.append(reply)
        return replies

    async def read_from_socket(self):
        try:
            async with asyncio.timeout(self.read_timeout):
                return await super().read_from_socket()
        except TimeoutError:          # the connection then closes: a reply may still be on its way
            raise redis_errors.TimeoutError(f"no reply from Redis within {self.read_timeout} s") from None


@functools.cache
def bounded_read_parser(seconds: float) -> type[BoundedReadParser]:
    return type("BoundedReadParser", (BoundedReadParser,), {"read_timeout": seconds})


CLUSTER_SCHEME = "redis+cluster://"


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def connect(url: str, **options) -> aioredis.Redis | RedisCluster:
    """A client for `url` with decoded (str) responses and the timeouts above; TCP URLs get the hiredis-packing
    connection. `socket_timeout` (seconds) sets the read timeout. `redis+cluster://host:port` gives a
    RedisCluster seeded by that node (same options; `max_connections` is per node)."""
    options.setdefault("decode_responses", True)
    options.setdefault("socket_connect_timeout", CONNECT_TIMEOUT_SECONDS)
    read_timeout = options.pop("socket_timeout", None) or COMMAND_TIMEOUT_SECONDS
    parser_class = options.pop("parser_class", bounded_read_parser(read_timeout))
    options["socket_timeout"] = None          # redis-py 8 defaults to 5 s, which brings back its per-reply timer
    options.setdefault("retry", Retry(NoBackoff(), 1, supported_errors=(redis_errors.ConnectionError,)))
    if is_cluster_url(url):
        return _connect_cluster("redis://" + url[len(CLUSTER_SCHEME):], parser_class, **options)
    if url.startswith("redis://"):
        options.setdefault("connection_class", HiredisPackingConnection)
    return aioredis.from_url(url, parser_class=parser_class, **options)


class ClusterClient(RedisCluster):
    """redis-py's RedisCluster, routing each command only once it knows the slot map.

    redis-py picks a command's node before it has read the slot map: the commands of a fresh client (or of one
    that dropped its map after an error) all go to one node, which answers most of them MOVED. redis-py follows a
    MOVED, but on every fifth it closes all of the client's connections, the ones other commands are using at that
    moment too; with a few dozen commands at once (a web process starting, a batch of members) those fail with
    "Connection closed by server" and their own retries close everything again. So a command waits for the map
    first, and a MOVED only moves its slot in the map (`reinitialize_steps=0`): a failover still refreshes the
    whole map, on the dead master's ConnectionError."""

    async def execute_command(self, *args, **kwargs):
        if self._initialize:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)

    async def aclose(self) -> None:
        """Close every connection: redis-py's aclose skips the nodes when the map is due to be read again (after
        a node's error), and their connections were left open."""
        due = self._initialize
        await super().aclose()
        if due:
            await self.nodes_manager.aclose()
            await self.nodes_manager.aclose("startup_nodes")


def _connect_cluster(url: str, parser_class: type, **options) -> RedisCluster:
    options.pop("connection_class", None)
    # Per node; redis-py's cluster default (100) refuses the 101st concurrent command at once, where a plain
    # client's pool has no limit unless the caller sets one.
    options.setdefault("max_connections", 2**31)
    options.setdefault("reinitialize_steps", 0)
    client = ClusterClient.from_url(url, **options)
    # RedisCluster takes no connection or parser class of its own; the nodes it discovers are built from this
    # dict (the seed node already has its connections' kwargs: it only serves the first slot-map query).
    client.connection_kwargs["connection_class"] = HiredisPackingConnection
    client.connection_kwargs["parser_class"] = parser_class
    return client


async def for_every_master(client: aioredis.Redis | RedisCluster, *command) -> None:
    """Run `command` on every master: FLUSHDB, SCRIPT LOAD and the like must reach every node of a cluster."""
    if isinstance(client, RedisCluster):
        await client.execute_command(*command, target_nodes=RedisCluster.PRIMARIES)
    else:
        await client.execute_command(*command)


class OutageLog:
    """One line when Redis becomes unavailable to `what`, one when it is back, however many attempts fail in
    between (a loop retrying every second would otherwise log every second)."""

    def __init__(self, log: logging.Logger, what: str):
        self._log = log
        self._what = what
        self._since: float | None = None
        self.failures = 0

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        if self._since is None:
            self._since = time.monotonic()
            self._log.warning("%s: Redis unavailable (%s); trying again quietly until it is back", self._what,
                              type(error).__name__)

    def succeeded(self) -> None:
        if self._since is not None:
            self._log.warning("%s: Redis back after %.1f s and %d failed attempts", self._what,
                              time.monotonic() - self._since, self.failures)
            self._since = None
            self.failures = 0
