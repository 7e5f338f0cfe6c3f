"""The Redis client the processes use: redis-py asyncio, with commands packed by hiredis.

redis-py's asyncio connection packs commands in Python; for the argument lists of our Lua scripts
that was about a seventh of the web process's CPU under load. hiredis packs the same bytes (checked
in tests) several times faster.
"""
from __future__ import annotations

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.exceptions import DataError


class HiredisPackingConnection(Connection):
    def pack_command(self, *args):
        if isinstance(args[0], str) and " " in args[0]:  # "CONFIG GET" and the like go as separate words
            args = tuple(args[0].split()) + args[1:]
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            raise DataError(f"invalid argument types for a Redis command: {[type(a).__name__ for a in args]}")


def connect(url: str, **options) -> aioredis.Redis:
    """A client for `url` with decoded (str) responses; TCP URLs get the hiredis-packing connection."""
    options.setdefault("decode_responses", True)
    if url.startswith("redis://"):
        options.setdefault("connection_class", HiredisPackingConnection)
    return aioredis.from_url(url, **options)
