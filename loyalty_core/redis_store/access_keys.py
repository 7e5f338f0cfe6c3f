"""API keys in Redis: one hash per key and a list of ids, in one slot (loyalty_core/keys.py)."""
from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from .. import keys
from ..access_keys import AccessKey
from ..clock import epoch_ms
from .scripts import Scripts

PAGE = 500


class RedisAccessKeyStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def create(self, key: AccessKey, secret_enc: str) -> bool:
        created = await self._scripts.run(
            "access_key_create", [keys.api_key(key.key_id), keys.API_KEY_IDS],
            [key.key_id, epoch_ms(key.created_at), key.created_at.isoformat(), " ".join(sorted(key.scopes)),
             key.store_id, key.label, secret_enc])
        return created["ok"]

    async def get(self, key_id: str) -> tuple[AccessKey, str] | None:
        fields = await self._redis.hgetall(keys.api_key(key_id))
        return (_key(key_id, fields), fields["secret_enc"]) if fields else None

    async def all(self) -> list[AccessKey]:
        found: list[AccessKey] = []
        for start in range(0, await self._redis.zcard(keys.API_KEY_IDS), PAGE):
            ids = await self._redis.zrange(keys.API_KEY_IDS, start, start + PAGE - 1)
            async with self._redis.pipeline(transaction=False) as pipe:
                for key_id in ids:
                    pipe.hgetall(keys.api_key(key_id))
                records = await pipe.execute()
            found += [_key(key_id, fields) for key_id, fields in zip(ids, records) if fields]
        return found

    async def revoke(self, key_id: str, at: datetime) -> AccessKey | None:
        revoked = await self._scripts.run("access_key_revoke", [keys.api_key(key_id)], [at.isoformat()])
        if not revoked["ok"]:
            return None
        flat = revoked["fields"]
        return _key(key_id, dict(zip(flat[::2], flat[1::2])))


def _key(key_id: str, fields: dict) -> AccessKey:
    revoked = fields.get("revoked_at")
    return AccessKey(key_id=key_id, scopes=frozenset(fields["scopes"].split()), store_id=fields["store_id"],
                     label=fields["label"], created_at=datetime.fromisoformat(fields["created_at"]),
                     revoked_at=datetime.fromisoformat(revoked) if revoked else None)
