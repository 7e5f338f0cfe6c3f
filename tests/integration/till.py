"""Helpers for tests that play a till against the bot's /api/v1, and compare Redis before and after."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import orjson
from aiohttp.test_utils import TestClient

from bot.api.auth import sign
from bot.app_keys import SERVICES
from bot.services import Services
from loyalty_core import keys
from tests.fixtures_bot import ADMIN_SECRET, POS_SECRET

_txn_ids = itertools.count(1)
SIGNATURE_BINDINGS = keys.api_signature("")


def new_txn_id(prefix: str = "T") -> str:
    return f"{prefix}{next(_txn_ids):08d}"


@dataclass
class Answer:
    status: int
    json: dict

    @property
    def error(self) -> str:
        return self.json["error"]["code"]


class Till:
    """Signs with the tills' shared secret unless given another secret (and the id of its API key)."""

    def __init__(self, client: TestClient, clock, secret: str = POS_SECRET, key_id: str | None = None):
        self.client = client
        self.clock = clock
        self.secret = secret
        self.key_id = key_id

    def signing_with(self, secret: str, key_id: str | None = None) -> "Till":
        return Till(self.client, self.clock, secret, key_id)

    @property
    def admin(self) -> "Till":
        return self.signing_with(ADMIN_SECRET)

    @property
    def services(self) -> Services:
        return self.client.server.app[SERVICES]

    def headers(self, body: bytes, timestamp: int | str | None = None, signature: str | None = None) -> dict:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signed = {"X-Timestamp": ts, "X-Signature": sign(self.secret, ts, body) if signature is None else signature}
        return signed | ({"X-Key-Id": self.key_id} if self.key_id else {})

    async def post(self, path: str, payload: dict | bytes, *, timestamp: int | str | None = None,
                   signature: str | None = None, headers: dict | None = None) -> Answer:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        sent = {"Content-Type": "application/json"} | self.headers(body, timestamp, signature)
        response = await self.client.post(path, data=body, headers=sent | (headers or {}))
        return Answer(response.status, await response.json(content_type=None))

    async def get(self, path: str) -> Answer:
        response = await self.client.get(path, headers=self.headers(b""))
        return Answer(response.status, await response.json(content_type=None))

    def purchase_body(self, member: dict, amount: str, txn_id: str | None = None, **extra) -> dict:
        return {"txn_id": txn_id or new_txn_id(), "member": member, "amount": amount,
                "category": "fashion", "store_id": "S01", "occurred_at": self.clock.now().isoformat()} | extra

    async def purchase(self, member: dict, amount: str, txn_id: str | None = None, **extra) -> Answer:
        return await self.post("/api/v1/purchases", self.purchase_body(member, amount, txn_id, **extra))

    async def refund(self, txn_id: str, amount: str, refund_id: str | None = None) -> Answer:
        return await self.post("/api/v1/refunds", {"refund_id": refund_id or new_txn_id("R"), "txn_id": txn_id,
                                                   "amount": amount})


async def snapshot(redis) -> dict:
    """Every key of the database with its type and content, to prove a request changed nothing. Left out:
    signature bindings, which every signed request with a body leaves, refused or not (bot/api/auth.py)."""
    found = [key async for key in redis.scan_iter(count=1000) if not key.startswith(SIGNATURE_BINDINGS)]
    async with redis.pipeline(transaction=False) as pipe:
        for key in found:
            pipe.type(key)
        kinds = await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        for key, kind in zip(found, kinds):
            READERS[kind](pipe, key)
        contents = await pipe.execute()
    return {key: (kind, content) for key, kind, content in zip(found, kinds, contents)}


READERS = {"hash": lambda pipe, key: pipe.hgetall(key), "string": lambda pipe, key: pipe.get(key),
           "zset": lambda pipe, key: pipe.zrange(key, 0, -1, withscores=True),
           "list": lambda pipe, key: pipe.lrange(key, 0, -1), "set": lambda pipe, key: pipe.smembers(key),
           "stream": lambda pipe, key: pipe.xrange(key),
           "none": lambda pipe, key: pipe.exists(key)}     # a key that expired between the scan and the read
