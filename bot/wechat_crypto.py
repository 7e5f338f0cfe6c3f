"""Callback signatures and safe-mode (AES) envelopes, on top of wechatpy's cipher.

wechatpy's decryptor trusts its input (padding, lengths, encoding); the checks here turn every
malformed ciphertext into one clear exception instead of whatever the cipher happens to raise.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct

from wechatpy.crypto import PrpCrypto

BLOCK = 32


class CallbackRejected(Exception):
    """The request is not a genuine, fresh WeChat callback. `reason` is safe to log."""

    def __init__(self, reason: str, status: int = 403):
        self.reason = reason
        self.status = status
        super().__init__(reason)


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(expected: str, *parts: str) -> None:
    if not hmac.compare_digest(signature(*parts).encode(), (expected or "").lower().encode()):
        raise CallbackRejected("bad signature")


class SafeModeCrypto:
    def __init__(self, token: str, encoding_aes_key: str, appid: str):
        self._token = token
        self._appid = appid
        self._key = base64.b64decode(encoding_aes_key + "=")
        self._prp = PrpCrypto(self._key)

    def decrypt(self, encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> bytes:
        check_signature(msg_signature, self._token, timestamp, nonce, encrypt)
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackRejected("Encrypt is not base64", 400) from None
        if not raw or len(raw) % BLOCK:
            raise CallbackRejected("Encrypt has a bad length", 400)
        plain = self._prp.cipher.decrypt(raw)
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad or len(plain) - pad < 20:
            raise CallbackRejected("Encrypt has bad padding", 400)
        content = plain[16:-pad]
        (length,) = struct.unpack(">I", content[:4])
        xml, appid = content[4:4 + length], content[4 + length:]
        if len(xml) != length:
            raise CallbackRejected("Encrypt has a bad length field", 400)
        if appid.decode(errors="replace") != self._appid:
            raise CallbackRejected("AppID in the ciphertext is not ours")
        return xml

    def encrypt(self, xml: str, timestamp: str, nonce: str | None = None) -> str:
        nonce = nonce or str(secrets.randbelow(10**10))
        encrypt = self._prp.encrypt(xml, self._appid).decode()
        sig = signature(self._token, timestamp, nonce, encrypt)
        return (f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")
