"""A batch of commands (redis_store/batching.pipelined, and its split by node on a cluster) on pooled connections
that Redis closed, as it does when it restarts: the batch goes once more on new connections, and every command is
answered once."""
from __future__ import annotations

from redis.asyncio.cluster import RedisCluster

from loyalty_core.redis_store.batching import pipelined
from loyalty_core.redis_store.connection import connect

NAME = "batch-under-test"


async def _close_connections_named(admin, name: str) -> int:
    """CLIENT KILL of the connections that carry `name`, on every master, and of those only: the other test
    process shares the server."""
    nodes = admin.get_primaries() if isinstance(admin, RedisCluster) else [None]
    closed = 0
    for node in nodes:
        where = {"target_nodes": node} if node is not None else {}
        for client in await admin.client_list(**where):
            if client["name"] == name:
                closed += await admin.client_kill_filter(_id=client["id"], **where)
    return closed


async def test_a_batch_on_connections_redis_closed_is_answered_on_new_ones(redis, redis_url):
    client = connect(redis_url, client_name=NAME)
    try:
        member_keys = [f"{{m:{n}}}:batch" for n in range(30)]          # on every master of a cluster
        assert await pipelined(client, [("INCR", key) for key in member_keys]) == [1] * 30
        assert await _close_connections_named(redis, NAME) >= 1
        assert await pipelined(client, [("INCR", key) for key in member_keys]) == [2] * 30
        assert await pipelined(redis, [("GET", key) for key in member_keys]) == ["2"] * 30
    finally:
        await client.aclose()
