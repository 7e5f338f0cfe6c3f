"""Personal data at rest: AES-GCM encryption, and a keyed hash for lookups (phone -> member).

One 32-byte master key; the encryption and hashing keys are derived from it so neither can be used
for the other's job.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"v1"

# The contexts of the sealed fields (a ciphertext opens only with its own context).
PHONE = "phone"           # the member's phone (profile phone_enc; its lookup hash: profile phone_hash)
NAME = "name"             # the member's name from an import (profile name_enc)
EMAIL = "email"           # the member's email from an import (profile email_enc)
BIRTHDAY = "birthday"     # the birthday (the birthday hash's enc)


class Pii:
    def __init__(self, master_key: bytes):
        if len(master_key) != 32:
            raise ValueError("the PII master key must be 32 bytes")
        self._aead = AESGCM(_derive(master_key, b"encrypt"))
        self._hash_key = _derive(master_key, b"lookup-hash")

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """`context` (e.g. 'phone') is bound to the ciphertext so values can't be swapped between fields."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return (_VERSION + b"." + base64.urlsafe_b64encode(nonce + sealed)).decode()

    def decrypt(self, token: str, *, context: str) -> str:
        version, _, body = token.encode().partition(b".")
        if version != _VERSION:
            raise ValueError("unknown PII envelope version")
        raw = base64.urlsafe_b64decode(body)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def lookup_hash(self, value: str, *, context: str) -> str:
        return hmac.new(self._hash_key, f"{context}:{value}".encode(), hashlib.sha256).hexdigest()

    def derived_key(self, purpose: str) -> bytes:
        """A key of its own for another job (e.g. signing links), derived so that it reveals neither of these."""
        return _derive(self._hash_key, purpose.encode())


def _derive(master: bytes, purpose: bytes) -> bytes:
    return hmac.new(master, b"mall-loyalty:" + purpose, hashlib.sha256).digest()
