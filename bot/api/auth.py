"""HMAC authentication of till and admin requests.

X-Timestamp: unix seconds, within ±300 s of our clock. X-Signature: hex HMAC-SHA256(secret,
timestamp + "\n" + raw body). The body is read here, at most MAX_BODY bytes, and kept on the request.

The signature covers neither the method nor the path, so a captured request could otherwise be sent,
within its 300 s, to another endpoint or another coupon's or member's path. Hence:
- A request with a body binds its signature to its method, path and query for SIGNATURE_BINDING_SECONDS
  (as long as its timestamp can be accepted, ±300 s): the same signature again on the same target is a
  till retrying (the endpoint's idempotency answers it); on any other target it is refused with 401
  `replayed_signature` before the endpoint runs. One batched Redis command per request. A refused
  request keeps its binding: its body was signed for that target and no other.
- Except coupon redemption, bound to its route rather than to one coupon: a till that uses two coupons
  on one transaction sends the same body (txn_id, amount, category, store) to both coupons' paths in
  the same second, and must not be refused. Such a replay can only use a coupon whose code the
  attacker already has, for a transaction the till really made.
- Every request that is not a read (GET, HEAD) must carry a body: an empty body's signature is the
  one every GET of the same second carries.
Known limit: a GET is signed over the empty body, so its signature is valid for any GET of that second
(another coupon's check, another query). GETs only read, so a captured one reveals no more than a check
the attacker could have had signed with it; it changes nothing.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Callable

from aiohttp import web

from loyalty_core import keys

from ..app_keys import SERVICES
from .errors import ApiError

MAX_BODY = 16 * 1024
TIMESTAMP_WINDOW_SECONDS = 300
SIGNATURE_BINDING_SECONDS = 2 * TIMESTAMP_WINDOW_SECONDS
READ_METHODS = frozenset({"GET", "HEAD"})
RAW_BODY = web.RequestKey("api_raw_body", bytes)


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"\n" + body, hashlib.sha256).hexdigest()


class Signer:
    def __init__(self, secret: str | None, wall_clock: Callable[[], float]):
        self._secret = secret
        self._wall_clock = wall_clock

    def verify(self, timestamp: str | None, signature: str | None, body: bytes) -> str:
        """The signature, normalised (so that its spelling cannot dodge the binding), when it is valid."""
        if not self._secret:
            raise ApiError(401, "unauthorized", "the till API has no secret configured")
        if not timestamp or not (timestamp.isascii() and timestamp.isdigit()):   # int() refuses '²'
            raise ApiError(401, "unauthorized", "X-Timestamp must be unix seconds")
        if abs(self._wall_clock() - int(timestamp)) > TIMESTAMP_WINDOW_SECONDS:
            raise ApiError(401, "stale_timestamp", "X-Timestamp is more than 300 seconds off")
        given = (signature or "").strip().lower()
        expected = sign(self._secret, timestamp, body)
        if not given.isascii() or not hmac.compare_digest(expected, given):   # compare_digest: ASCII only
            raise ApiError(401, "bad_signature", "X-Signature does not match")
        return given


SIGNER = web.AppKey("api_signer", Signer)


@web.middleware
async def hmac_auth(request: web.Request, handler) -> web.StreamResponse:
    body = await read_limited(request)
    signature = request.app[SIGNER].verify(request.headers.get("X-Timestamp"), request.headers.get("X-Signature"),
                                           body)
    if body:
        await bind_signature(request, signature)
    elif request.method not in READ_METHODS:
        raise ApiError(422, "invalid_request", f"a {request.method} must carry a JSON body")
    request[RAW_BODY] = body
    return await handler(request)


ROUTE_BOUND = ("/coupons/{code}/redeem",)   # route patterns, under the API's prefix


async def bind_signature(request: web.Request, signature: str) -> None:
    """Claim the signature for this method and path; the first target stays, and is returned."""
    route = request.match_info.route.resource
    pattern = route.canonical if route is not None else ""
    target = f"{request.method} {pattern if pattern.endswith(ROUTE_BOUND) else request.path_qs}"
    bound = await request.config_dict[SERVICES].scripts.run(
        "signature_bind", [keys.api_signature(signature)], [target, SIGNATURE_BINDING_SECONDS])
    first = bound["first"]
    if first != target:
        raise ApiError(401, "replayed_signature",
                       "this signature was already used for another request; sign each request with its own body")


async def read_limited(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "body_too_large", f"the body is over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(8192):
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, "body_too_large", f"the body is over {MAX_BODY} bytes")
    return bytes(body)
