"""A batch of commands on a Redis Cluster as the plain client's batch goes (batching.py): split by the node that
serves each command's slot, one connection per node, the commands packed by hiredis and their replies read at
once, each error in its reply's place.

redis-py's ClusterPipeline does the same split, with a policy lookup, a command object and a parse per command:
on a cluster that was most of the processor time of a web process under load. Redirects are followed here as
redis-py follows them: a MOVED moves its slot in the client's map and the command goes to the new node, an ASK
goes once to the node named, after ASKING. A connection found broken (a node that restarted closed it) is replaced
and its commands go once more, as the plain client's batch goes; a node that still cannot be reached fails its own
commands only (each gets the ConnectionError), and the client reads its slot map again before its next command (a
failover)."""
from __future__ import annotations

import asyncio

from redis import exceptions as redis_errors
from redis.crc import key_slot

REDIRECTS = 3


async def exchange(client, commands: list[tuple]) -> list:
    """Each command's reply as Redis gives it (no response callbacks), in order."""
    if client._initialize:
        await client.initialize()
    replies: list = [None] * len(commands)
    todo = list(range(len(commands)))
    for _ in range(REDIRECTS):
        await _send_by_node(client, commands, todo, replies)
        todo = [i for i in todo if isinstance(replies[i], (redis_errors.MovedError, redis_errors.AskError))]
        if not todo:
            return replies
        await _follow(client, commands, todo, replies)
        todo = [i for i in todo if isinstance(replies[i], redis_errors.MovedError)]
    for i, reply in enumerate(replies):    # the slot kept moving: a moment of resharding or failover, to retry
        if isinstance(reply, (redis_errors.MovedError, redis_errors.AskError)):
            replies[i] = redis_errors.TryAgainError(f"slot still moving after {REDIRECTS} redirects")
    return replies


async def _send_by_node(client, commands: list[tuple], todo: list[int], replies: list, again: bool = True) -> None:
    by_node: dict[str, tuple] = {}
    for i in todo:
        node = await _node_of(client, commands[i])
        by_node.setdefault(node.name, (node, []))[1].append(i)
    await asyncio.gather(*(_on_node(client, node, commands, indexes, replies) for node, indexes in by_node.values()))
    lost = [i for i in todo if isinstance(replies[i], redis_errors.ConnectionError)]
    if lost and again:       # on new connections (a lost one was closed), to the nodes the map names now
        await _send_by_node(client, commands, lost, replies, again=False)


async def _node_of(client, command: tuple):
    """The master serving the command's key; a command without a key goes to the client's default node."""
    try:
        slot = await _slot(client, command)
    except redis_errors.RedisClusterException:
        return client.get_default_node()
    return client.nodes_manager.get_node_from_slot(slot)


async def _slot(client, command: tuple) -> int:
    """The slot of the command's key: the first key of a script, the first argument of a command whose key
    comes first (by COMMAND's key positions), else as redis-py finds it."""
    name = command[0]
    position = _KEY_POSITIONS.get(name)
    if position is None:
        position = _KEY_POSITIONS[name] = _key_position(client, name)
    if position and len(command) > position:
        key = command[position]
        return key_slot(key.encode() if isinstance(key, str) else key)
    return await client._determine_slot(*command)


_KEY_POSITIONS: dict[str, int] = {}


def _key_position(client, name: str) -> int:
    """0: ask redis-py (no key, a script without keys, keys found by parsing the arguments)."""
    if name.upper() in ("EVALSHA", "EVAL"):
        return 3
    info = client.commands_parser.commands.get(name.lower()) or {}
    return 1 if info.get("first_key_pos") == 1 and "movablekeys" not in info.get("flags", ()) else 0


async def _on_node(client, node, commands: list[tuple], indexes: list[int], replies: list, asking=False) -> None:
    batch = [commands[i] for i in indexes]
    if asking:
        batch = [command for pair in zip([("ASKING",)] * len(batch), batch) for command in pair]
    connection = node.acquire_connection()
    try:
        await node.disconnect_if_needed(connection)
        answers = await connection.exchange(batch)
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as failure:
        client._initialize = True           # the node is away: the map is read again before the next command
        answers = [failure] * len(batch)
    finally:
        node.release(connection)
    for i, answer in zip(indexes, answers[1::2] if asking else answers):
        replies[i] = answer


async def _follow(client, commands: list[tuple], redirected: list[int], replies: list) -> None:
    """MOVED: the slot's new node goes into the map (the next round sends there); ASK: once to the node named."""
    asked: dict[str, tuple] = {}
    for i in redirected:
        error = replies[i]
        if isinstance(error, redis_errors.MovedError):
            await client.nodes_manager.move_slot(error)
            continue
        node = client.get_node(host=error.host, port=error.port)
        if node is None:
            client._initialize = True
            replies[i] = redis_errors.TryAgainError(f"asked to an unknown node {error.host}:{error.port}")
            continue
        asked.setdefault(node.name, (node, []))[1].append(i)
    await asyncio.gather(*(_on_node(client, node, commands, indexes, replies, asking=True)
                           for node, indexes in asked.values()))
