"""HMAC authentication of till, CRM and admin requests, and which endpoints each credential reaches.

X-Timestamp: unix seconds, within ±300 s of our clock. X-Signature: hex HMAC-SHA256(secret,
timestamp + "\n" + raw body). The body is read here, at most MAX_BODY bytes, and kept on the request.
The secret is one of:
- POS_API_SECRET, the tills' shared secret: the `till` scope;
- ADMIN_API_SECRET: the `admin` scope;
- an API key's own secret, the key named by X-Key-Id: the key's scopes and its store binding
  (loyalty_core/access_keys.py; made, listed and revoked with `python -m bot keys`).
Each endpoint names the scopes that reach it (`reached_by`, the README's table); a valid signature without
one of them is refused with 403 `forbidden` before anything is bound or read, and an endpoint that names
none is reached by nobody.

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
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, TypeVar

from aiohttp import web

from loyalty_core import keys
from loyalty_core.access_keys import AccessKeys

from ..app_keys import SERVICES
from .errors import ApiError

MAX_BODY = 16 * 1024
TIMESTAMP_WINDOW_SECONDS = 300
SIGNATURE_BINDING_SECONDS = 2 * TIMESTAMP_WINDOW_SECONDS
READ_METHODS = frozenset({"GET", "HEAD"})
RAW_BODY = web.RequestKey("api_raw_body", bytes)


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"\n" + body, hashlib.sha256).hexdigest()


# The scopes that reach an endpoint (loyalty_core/access_keys.py says what each is for).
TILL = frozenset({"till"})
MEMBER_SERVICE = frozenset({"crm", "admin"})
PROGRAM = frozenset({"admin"})
_SCOPES_ATTRIBUTE = "api_scopes"
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[web.StreamResponse]])


def reached_by(scopes: frozenset[str]) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        setattr(handler, _SCOPES_ATTRIBUTE, scopes)
        return handler
    return mark


def scopes_reaching(handler) -> frozenset[str]:
    return getattr(handler, _SCOPES_ATTRIBUTE, frozenset())


@dataclass(frozen=True)
class Principal:
    """Who signed a request: `name` for messages, never a secret."""
    name: str
    scopes: frozenset[str]
    store_id: str = ""      # a till key bound to a store books for that store only


PRINCIPAL = web.RequestKey("api_principal", Principal)


class Credentials:
    """The shared secrets (the tills' first: most requests are theirs) and the API keys."""

    def __init__(self, pos_secret: str | None, admin_secret: str | None, wall_clock: Callable[[], float]):
        shared = ((pos_secret, Principal("the till secret", TILL)),
                  (admin_secret, Principal("the admin secret", PROGRAM)))
        self._shared = [(secret, principal) for secret, principal in shared if secret]
        self._wall_clock = wall_clock

    async def verify(self, headers: Mapping[str, str], body: bytes,
                     access_keys: AccessKeys) -> tuple[Principal, str]:
        """Who signed, and the signature normalised (so that its spelling cannot dodge the binding)."""
        timestamp = headers.get("X-Timestamp")
        if not timestamp or not (timestamp.isascii() and timestamp.isdigit()):   # int() refuses '²'
            raise ApiError(401, "unauthorized", "X-Timestamp must be unix seconds")
        if abs(self._wall_clock() - int(timestamp)) > TIMESTAMP_WINDOW_SECONDS:
            raise ApiError(401, "stale_timestamp", "X-Timestamp is more than 300 seconds off")
        given = (headers.get("X-Signature") or "").strip().lower()
        key_id = headers.get("X-Key-Id")
        candidates = self._shared if key_id is None else await _key_secret(key_id.strip(), access_keys)
        if not candidates:
            raise ApiError(401, "unauthorized", "the API has no secret configured")
        for secret, principal in candidates:
            if given.isascii() and hmac.compare_digest(sign(secret, timestamp, body), given):  # ASCII only
                return principal, given
        raise ApiError(401, "bad_signature", "X-Signature does not match")


async def _key_secret(key_id: str, access_keys: AccessKeys) -> list[tuple[str, Principal]]:
    found = await access_keys.active(key_id)
    if found is None:
        raise ApiError(401, "unauthorized", "X-Key-Id names no active key")
    key, secret = found
    return [(secret, Principal(f"key {key.key_id}", key.scopes, key.store_id))]


CREDENTIALS = web.AppKey("api_credentials", Credentials)


@web.middleware
async def hmac_auth(request: web.Request, handler) -> web.StreamResponse:
    body = await read_limited(request)
    principal, signature = await request.app[CREDENTIALS].verify(request.headers, body,
                                                                 request.config_dict[SERVICES].access_keys)
    check_reach(request, principal)
    if body:
        await bind_signature(request, signature)
    elif request.method not in READ_METHODS:
        raise ApiError(422, "invalid_request", f"a {request.method} must carry a JSON body")
    request[RAW_BODY] = body
    request[PRINCIPAL] = principal
    return await handler(request)


def check_reach(request: web.Request, principal: Principal) -> None:
    if request.match_info.http_exception is not None:     # no such route: the router answers 404 / 405
        return
    scopes = scopes_reaching(request.match_info.handler)
    if not principal.scopes & scopes:
        needed = " or ".join(sorted(scopes)) or "no"
        raise ApiError(403, "forbidden", f"{principal.name} does not reach this endpoint ({needed} scope)")


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
