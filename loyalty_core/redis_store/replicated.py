"""Writes acknowledged only once a replica has them, on a Redis Cluster whose masters have replicas.

Replication is asynchronous: a master answers a write before its replica has it. When the master dies, its
replica takes over its slots without the writes it had not received yet, and a purchase the till was already
answered for would be gone. So a ledger change is followed, on the same connection, by `WAIT 1 <ms>`: Redis
answers it once a replica has acknowledged every write that connection made. A change no replica confirms within
REPLICA_WAIT_MS is not acknowledged: NotReplicated is an outage to the callers (503 to a till, which sends the
same request again; the change is idempotent, so the retry finds it done and confirms it anew).

A replayed answer (the change was already done, by an earlier request) is confirmed too: its connection made no
write, so a write that changes nothing (HINCRBY by 0, which Redis still replicates) goes first, and WAIT then
covers everything the master held at that moment, the earlier change included.

Which masters have replicas: the client's slot map (CLUSTER SLOTS leaves out replicas marked failed). A master
whose replica is away therefore answers NotReplicated until the cluster marks the replica failed (the node
timeout); the map is read again on every NotReplicated, and from then on that master's writes are acknowledged
without a replica — durable only in its append-only file, until the replica is back. A single redis-server (no
cluster) relies on its append-only file alone (`appendfsync always` for a ledger that must lose nothing).
"""
from __future__ import annotations

from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio.cluster import RedisCluster

REPLICA_WAIT_MS = 500
REDIRECTED = (redis_errors.MovedError, redis_errors.AskError)


class NotReplicated(redis_errors.TimeoutError):
    """A write reached its master, but no replica confirmed it in time (or its slot moved meanwhile)."""


async def replicas_of(redis, key: str) -> int:
    """How many replicas the master of `key`'s slot has in the client's slot map (0 without a cluster)."""
    if not isinstance(redis, RedisCluster):
        return 0
    if redis._initialize:          # the map is read on first use; before that it is empty
        await redis.initialize()
    return len(redis.nodes_manager.slots_cache.get(redis.keyslot(key), [])) - 1


async def write_then_wait(redis: RedisCluster, key: str, command: tuple, replicas: int) -> Any:
    """`command` (on `key`'s slot), then WAIT on the same connection; its reply, once `replicas` have it. The
    command's own error (NOSCRIPT, say) is raised as it is."""
    node = redis.get_node_from_key(key)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.execute_command(*command)
        pipe.execute_command("WAIT", replicas, REPLICA_WAIT_MS, target_nodes=node)
        reply, confirmed = await pipe.execute(raise_on_error=False, allow_redirections=False)
    if isinstance(reply, REDIRECTED):
        await _read_map_again(redis)
        raise NotReplicated(f"the slot of {key} moved: the write is sent again") from reply
    if isinstance(reply, Exception):
        raise reply
    if not isinstance(confirmed, int) or confirmed < replicas:
        await _read_map_again(redis)
        raise NotReplicated(f"no replica confirmed a write within {REPLICA_WAIT_MS} ms")
    return reply


async def confirm(redis: RedisCluster, hash_key: str, field: str, replicas: int) -> None:
    """Everything the master of `hash_key` holds now is on `replicas` (HINCRBY of an existing field by 0: a write
    that changes nothing, so that WAIT covers the master's writes up to this moment)."""
    await write_then_wait(redis, hash_key, ("HINCRBY", hash_key, field, 0), replicas)


async def _read_map_again(redis: RedisCluster) -> None:
    try:
        await redis.nodes_manager.initialize()
    except (redis_errors.RedisError, OSError):
        pass              # the next command reads it, once the cluster answers again
