"""HMAC authentication of till requests.

X-Timestamp: unix seconds, within ±300 s of our clock. X-Signature: hex HMAC-SHA256(secret,
timestamp + "\n" + raw body). The body is read here, at most MAX_BODY bytes, and kept on the request.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Callable

from aiohttp import web

from .errors import ApiError

MAX_BODY = 16 * 1024
TIMESTAMP_WINDOW_SECONDS = 300
RAW_BODY = web.RequestKey("api_raw_body", bytes)


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"\n" + body, hashlib.sha256).hexdigest()


class Signer:
    def __init__(self, secret: str | None, wall_clock: Callable[[], float]):
        self._secret = secret
        self._wall_clock = wall_clock

    def verify(self, timestamp: str | None, signature: str | None, body: bytes) -> None:
        if not self._secret:
            raise ApiError(401, "unauthorized", "the till API has no secret configured")
        if not timestamp or not (timestamp.isascii() and timestamp.isdigit()):   # int() refuses '²'
            raise ApiError(401, "unauthorized", "X-Timestamp must be unix seconds")
        if abs(self._wall_clock() - int(timestamp)) > TIMESTAMP_WINDOW_SECONDS:
            raise ApiError(401, "stale_timestamp", "X-Timestamp is more than 300 seconds off")
        expected = sign(self._secret, timestamp, body)
        if not signature or not hmac.compare_digest(expected, signature.strip().lower()):
            raise ApiError(401, "bad_signature", "X-Signature does not match")


SIGNER = web.AppKey("api_signer", Signer)


@web.middleware
async def hmac_auth(request: web.Request, handler) -> web.StreamResponse:
    body = await read_limited(request)
    request.app[SIGNER].verify(request.headers.get("X-Timestamp"), request.headers.get("X-Signature"), body)
    request[RAW_BODY] = body
    return await handler(request)


async def read_limited(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "body_too_large", f"the body is over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(8192):
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, "body_too_large", f"the body is over {MAX_BODY} bytes")
    return bytes(body)
