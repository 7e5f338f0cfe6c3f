"""API keys: one per till, store or system, each with scopes and an optional store binding.

A key has an id (sent as X-Key-Id) and a secret (the HMAC key of its requests), shown once when the key
is made and kept only encrypted (AES-GCM through Pii, bound to the key's id, so one key's ciphertext cannot
be copied into another's record). A revoked key stays listed, with when it was revoked, and signs nothing.

Scopes (which endpoints each reaches: bot/api/auth.py, and the README):
  till   purchases, refunds, coupon checks and uses: a POS terminal, or the online mall's checkout
  crm    member service: coupons issued to or revoked from a member, a birthday changed by staff
  admin  everything under /admin: the crm endpoints and the program's definitions (coupon templates,
         catalogue items)
A store binding limits a till key to its store's purchases, refunds and coupon uses.
"""
from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Protocol

from cryptography.exceptions import InvalidTag

from . import errors
from .clock import Clock
from .pii import Pii
from .points import check_ref

log = logging.getLogger("loyalty_core.access_keys")
SCOPES = ("till", "crm", "admin")
KEY_ID_PREFIX = "k"
_KEY_ID = re.compile(r"k[0-9a-f]{12}")
MAX_LABEL = 64


@dataclass(frozen=True)
class AccessKey:
    key_id: str
    scopes: frozenset[str]
    store_id: str           # "" = any store
    label: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class NewKey:
    key: AccessKey
    secret: str             # shown once, never stored in the clear


class AccessKeyStore(Protocol):
    async def create(self, key: AccessKey, secret_enc: str) -> bool:
        """Store a new key unless its id exists; False on a collision."""
    async def get(self, key_id: str) -> tuple[AccessKey, str] | None:
        """The key and its sealed secret."""
    async def all(self) -> list[AccessKey]: ...
    async def revoke(self, key_id: str, at: datetime) -> AccessKey | None:
        """Mark the key revoked (the first time only); None if there is no such key."""


def check_new_key(scopes: Iterable[str], store_id: str, label: str) -> frozenset[str]:
    chosen = frozenset(scopes)
    if not chosen or not chosen <= set(SCOPES):
        raise errors.InvalidRequest(f"a key needs one or more of the scopes {', '.join(SCOPES)}")
    if store_id:
        check_ref(store_id, "store_id")
        if "till" not in chosen:
            raise errors.InvalidRequest("only a till key is bound to a store")
    if len(label) > MAX_LABEL:
        raise errors.InvalidRequest(f"a label has at most {MAX_LABEL} characters")
    return chosen


def is_key_id(value: str) -> bool:
    return isinstance(value, str) and bool(_KEY_ID.fullmatch(value))


class AccessKeys:
    def __init__(self, store: AccessKeyStore, pii: Pii, clock: Clock):
        self._store = store
        self._pii = pii
        self._clock = clock

    async def add(self, scopes: Iterable[str], store_id: str = "", label: str = "") -> NewKey:
        chosen = check_new_key(scopes, store_id, label)
        secret = secrets.token_urlsafe(32)
        for _ in range(5):
            key = AccessKey(KEY_ID_PREFIX + secrets.token_hex(6), chosen, store_id, label, self._clock.now())
            if await self._store.create(key, self._seal(key.key_id, secret)):
                return NewKey(key, secret)
        raise RuntimeError("could not draw an unused key id")

    async def list(self) -> list[AccessKey]:
        return await self._store.all()

    async def revoke(self, key_id: str) -> AccessKey:
        revoked = await self._store.revoke(key_id, self._clock.now()) if is_key_id(key_id) else None
        if revoked is None:
            raise errors.UnknownAccessKey()
        return revoked

    async def active(self, key_id: str) -> tuple[AccessKey, str] | None:
        """The key and its secret, if the key exists, is not revoked and opens with this PII key."""
        found = await self._store.get(key_id) if is_key_id(key_id) else None
        if found is None or not found[0].active:
            return None
        key, sealed = found
        try:
            return key, self._pii.decrypt(sealed, context=_context(key.key_id))
        except (InvalidTag, ValueError):
            log.error("API key %s does not open with this PII_KEY (made with another one?): refused", key.key_id)
            return None

    def _seal(self, key_id: str, secret: str) -> str:
        return self._pii.encrypt(secret, context=_context(key_id))


def _context(key_id: str) -> str:
    return f"api-key:{key_id}"
