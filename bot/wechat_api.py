"""Async client of the WeChat official-account API.

- One access token for all processes, kept in Redis and fetched with `POST /cgi-bin/stable_token` in
  normal mode: again inside its last 5 minutes, by one process under a Redis lock while the others go
  on with the still-valid one (or wait for the new one when there is none).
- On 40001/42001/40014 the token is replaced compare-and-set: re-read Redis (another process may have
  a new one); if it still holds the failed token, fetch in normal mode under the lock; only if that
  returns the very token that failed, one `force_refresh` (at least 30 s apart). Then the call is
  retried once. Fifty concurrent failures cause one refresh.
- Errors say what to do: `RetryableError` (-1, 45066, network, 5xx) is retried here with exponential backoff
  and jitter, a bounded number of times; `PermanentError` (quotas, windows, consent, …) never is.
- A client built with `exactly_once=True` (the push sender's) never repeats a message send whose outcome
  it cannot know — a timeout, a connection lost after the request went out, a 5xx — and raises
  `OutcomeUnknown` instead: the message may have reached the member. A refused connection, "system busy"
  (-1) and a rejected token are still retried: the platform did not send.
- One shared aiohttp session (its connection pool) and a semaphore bound the calls in flight.

Nothing here logs access tokens, secrets, openids or message contents.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import random
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import quote

import aiohttp
import orjson
import yarl
from redis.asyncio import Redis

from loyalty_core import keys

log = logging.getLogger("bot.wechat_api")

OFFICIAL_API_BASE = "https://api.weixin.qq.com"
OFFICIAL_QRCODE_BASE = "https://mp.weixin.qq.com"
RENEW_BEFORE_SECONDS = 300          # the platform renews a stable token 5 minutes before it expires
FORCE_SPACING_SECONDS = 30          # force_refresh: at least 30 s apart
LOCK_TTL_MS = 15_000
LOCK_WAIT_SECONDS = 20.0
LOCK_POLL_SECONDS = 0.05
TEMP_QRCODE_MAX_SECONDS = 2_592_000
SCENE_MAX_CHARS = 64
CLIENTMSGID_MAX_BYTES = 64
TAGGING_BATCH = 50
MASS_OPENIDS_MIN, MASS_OPENIDS_MAX = 2, 10_000
JSON_HEADERS = {"Content-Type": "application/json"}
_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


# -- errors ---------------------------------------------------------------------------------------
class WeChatApiError(Exception):
    """An answer other than success. `errcode` is WeChat's (or -1 for network trouble and 5xx)."""

    def __init__(self, errcode: int, errmsg: str = ""):
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat API error {errcode}: {errmsg}")


class RetryableError(WeChatApiError):
    """-1 (system busy), 45066, network errors, HTTP 5xx: retried with backoff; raised once retries are used up."""


class PermanentError(WeChatApiError):
    """Retrying cannot help (quota, window, consent, bad request, unknown code): never retried."""


class TokenError(WeChatApiError):
    """40001/42001/40014: the token was replaced and the call retried once, and it failed again."""


class OutcomeUnknown(WeChatApiError):
    """A message send with no answer (timeout, connection lost after sending, 5xx): it may have gone out.
    Raised, not retried, by a client built with exactly_once=True."""


class DailyQuotaReached(PermanentError):      # 45009: API call quota reached for the day
    pass


class NotFollowing(PermanentError):          # 43004: the member does not follow the account
    pass


class OutsideWindow(PermanentError):         # 45015: no customer-service window open
    pass


class WindowUsedUp(PermanentError):          # 45047: the window's message count is used up
    pass


class InvalidTemplate(PermanentError):       # 40037
    pass


class NoConsent(PermanentError):             # 43101: no subscribe-message consent left
    pass


class Unauthorised(PermanentError):          # 48001: API not authorised for this account
    pass


TOKEN_ERRCODES = frozenset({40001, 42001, 40014})
# Calls that send a message and carry nothing the platform could recognise a repeat by (a mass send has its
# clientmsgid): repeating one whose outcome is unknown may deliver it twice.
SENDS_WITHOUT_IDEMPOTENCY = frozenset({"message/custom/send", "message/template/send", "message/subscribe/bizsend"})
# 45066 "same clientmsgid retry too fast": a mass send retried while the platform still handles the first
# try; a later retry answers 45065 with that send's msg_id (or sends, if the first try never arrived).
RETRYABLE_ERRCODES = frozenset({-1, 45066})
_PERMANENT_BY_CODE: dict[int, type[PermanentError]] = {
    45009: DailyQuotaReached, 43004: NotFollowing, 45015: OutsideWindow, 45047: WindowUsedUp,
    40037: InvalidTemplate, 43101: NoConsent, 48001: Unauthorised,
}


def error_for(errcode: int, errmsg: str) -> WeChatApiError:
    if errcode in RETRYABLE_ERRCODES:
        return RetryableError(errcode, errmsg)
    if errcode in TOKEN_ERRCODES:
        return TokenError(errcode, errmsg)
    return _PERMANENT_BY_CODE.get(errcode, PermanentError)(errcode, errmsg)


# -- results --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4               # tries in all, the first included
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        """Full jitter: a random pause up to base × 2^(attempt-1), capped."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class QrCode:
    ticket: str
    url: str                        # what the QR code encodes
    scene: str
    expires_at: float | None        # None: permanent

    @property
    def permanent(self) -> bool:
        return self.expires_at is None


@dataclass(frozen=True, slots=True)
class MassSendResult:
    msg_id: int
    msg_data_id: int | None
    duplicate: bool                 # True: this clientmsgid was sent before; nothing was sent again


@dataclass(frozen=True, slots=True)
class UserInfo:
    openid: str
    subscribed: bool
    subscribe_time: int | None
    tag_ids: tuple[int, ...]
    subscribe_scene: str = ""
    qr_scene_str: str = ""
    unionid: str | None = None
    language: str = ""


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    name: str
    count: int = 0


@dataclass(frozen=True, slots=True)
class TagPage:
    openids: tuple[str, ...]
    next_openid: str                # pass back to get the next page; "" or a repeat when done


# -- the client --------------------------------------------------------------------------------------------
class WeChatApi:
    def __init__(self, session: aiohttp.ClientSession, redis: Redis, appid: str, secret: str, base_url: str, *,
                 concurrency: int | None = 200, clock: Callable[[], float] = time.time,
                 retry: RetryPolicy = RetryPolicy(), timeout: float | None = 10.0, exactly_once: bool = False):
        """`concurrency` bounds the calls in flight and `timeout` each HTTP request; None for either when the caller
        bounds them itself (the sender does, its retries included), which spares a lock and a timer per call."""
        self._session = session
        self._redis = redis
        self._appid = appid
        self._secret = secret
        self._base = base_url.rstrip("/")
        self._qrcode_base = OFFICIAL_QRCODE_BASE if self._base == OFFICIAL_API_BASE else self._base
        self._slots = asyncio.Semaphore(concurrency) if concurrency else contextlib.nullcontext()
        self._clock = clock
        self._retry = retry
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._exactly_once = exactly_once
        self._urls: dict[str, tuple[str | None, yarl.URL]] = {}
        self._cached: AccessToken | None = None
        self._flights: dict[tuple, asyncio.Future] = {}
        self._release_lock = redis.register_script(_RELEASE_LOCK)

    # -- messages ------------------------------------------------------------------------------------
    async def send_custom(self, openid: str, payload: dict) -> None:
        """A customer-service message, e.g. {"msgtype": "text", "text": {"content": "…"}}."""
        await self._call("POST", "message/custom/send", body={**payload, "touser": openid})

    async def send_template(self, openid: str, template_id: str, data: dict, *, url: str | None = None,
                            miniprogram: dict | None = None) -> int:
        """A template message (service notices only); returns its msgid."""
        body = {"touser": openid, "template_id": template_id, "data": data,
                **_present(url=url, miniprogram=miniprogram)}
        return int((await self._call("POST", "message/template/send", body=body))["msgid"])

    async def send_subscribe(self, openid: str, template_id: str, data: dict, *, page: str | None = None,
                             miniprogram: dict | None = None) -> None:
        """A subscribe message: spends one of the member's consents for this template (43101 without)."""
        body = {"touser": openid, "template_id": template_id, "data": data,
                **_present(page=page, miniprogram=miniprogram)}
        await self._call("POST", "message/subscribe/bizsend", body=body)

    async def mass_send_to_tag(self, tag_id: int, message: dict, *, clientmsgid: str) -> MassSendResult:
        """Mass send to a tag's followers; `message` is e.g. {"msgtype": "text", "text": {"content": "…"}}."""
        body = {"filter": {"is_to_all": False, "tag_id": tag_id}, **message}
        return await self._mass("message/mass/sendall", body, clientmsgid)

    async def mass_send_to_all(self, message: dict, *, clientmsgid: str) -> MassSendResult:
        return await self._mass("message/mass/sendall", {"filter": {"is_to_all": True}, **message}, clientmsgid)

    async def mass_send_to_openids(self, openids: Iterable[str], message: dict, *,
                                   clientmsgid: str) -> MassSendResult:
        touser = list(dict.fromkeys(openids))
        if not MASS_OPENIDS_MIN <= len(touser) <= MASS_OPENIDS_MAX:
            raise ValueError(f"mass send takes {MASS_OPENIDS_MIN} to {MASS_OPENIDS_MAX} distinct openids")
        return await self._mass("message/mass/send", {"touser": touser, **message}, clientmsgid)

    async def _mass(self, endpoint: str, body: dict, clientmsgid: str) -> MassSendResult:
        if not clientmsgid or len(clientmsgid.encode()) > CLIENTMSGID_MAX_BYTES:
            raise ValueError(f"clientmsgid: 1 to {CLIENTMSGID_MAX_BYTES} bytes")
        # 45065: this clientmsgid was sent within 24 h; the answer names that send's msg_id.
        answer = await self._call("POST", endpoint, body={**body, "clientmsgid": clientmsgid}, accept={45065})
        msg_data_id = answer.get("msg_data_id")
        return MassSendResult(int(answer["msg_id"]), int(msg_data_id) if msg_data_id else None,
                              duplicate=answer.get("errcode") == 45065)

    # -- media and QR codes ----------------------------------------------------------------------------------
    async def upload_media(self, kind: str, filename: str, data: bytes) -> str:
        """Uploads temporary media (kept 3 days by WeChat); returns its media_id."""
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"

        def form() -> aiohttp.FormData:
            payload = aiohttp.FormData()
            payload.add_field("media", data, filename=filename, content_type=content_type)
            return payload
        answer = await self._call("POST", "media/upload", params={"type": kind}, form=form)
        return answer["media_id"]

    async def create_temporary_qrcode(self, scene: str, expire_seconds: int) -> QrCode:
        if not 1 <= expire_seconds <= TEMP_QRCODE_MAX_SECONDS:
            raise ValueError(f"expire_seconds: 1 to {TEMP_QRCODE_MAX_SECONDS} (30 days)")
        body = {"expire_seconds": expire_seconds, "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": _scene(scene)}}}
        answer = await self._call("POST", "qrcode/create", body=body)
        expires_at = self._clock() + int(answer.get("expire_seconds", expire_seconds))
        return QrCode(answer["ticket"], answer["url"], scene, expires_at)

    async def create_permanent_qrcode(self, scene: str) -> QrCode:
        body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": _scene(scene)}}}
        answer = await self._call("POST", "qrcode/create", body=body)
        return QrCode(answer["ticket"], answer["url"], scene, None)

    def qrcode_image_url(self, ticket: str) -> str:
        return f"{self._qrcode_base}/cgi-bin/showqrcode?ticket={quote(ticket, safe='')}"

    # -- menus ------------------------------------------------------------------------------------------------
    async def create_menu(self, menu: dict) -> None:
        """`menu` is {"button": [...]}: at most 3 buttons with at most 5 sub-buttons each."""
        await self._call("POST", "menu/create", body=menu)

    async def get_menu(self) -> dict | None:
        """The menu as WeChat returns it ({"menu": {"button": [...]}, …}), or None when there is none."""
        answer = await self._call("GET", "menu/get", accept={46003})
        return None if answer.get("errcode") == 46003 else answer

    async def delete_menu(self) -> None:
        await self._call("GET", "menu/delete")

    # -- users and tags ----------------------------------------------------------------------------------------
    async def user_info(self, openid: str) -> UserInfo:
        answer = await self._call("GET", "user/info", params={"openid": openid, "lang": "zh_CN"})
        subscribed = answer.get("subscribe") == 1
        return UserInfo(
            openid=answer.get("openid", openid), subscribed=subscribed,
            subscribe_time=answer.get("subscribe_time") if subscribed else None,
            tag_ids=tuple(answer.get("tagid_list") or ()), subscribe_scene=answer.get("subscribe_scene", ""),
            qr_scene_str=answer.get("qr_scene_str", ""), unionid=answer.get("unionid"),
            language=answer.get("language", ""),
        )

    async def create_tag(self, name: str) -> Tag:
        tag = (await self._call("POST", "tags/create", body={"tag": {"name": name}}))["tag"]
        return Tag(int(tag["id"]), tag["name"])

    async def get_tags(self) -> list[Tag]:
        answer = await self._call("GET", "tags/get")
        return [Tag(int(t["id"]), t["name"], int(t.get("count", 0))) for t in answer.get("tags", [])]

    async def update_tag(self, tag_id: int, name: str) -> None:
        await self._call("POST", "tags/update", body={"tag": {"id": tag_id, "name": name}})

    async def delete_tag(self, tag_id: int) -> None:
        await self._call("POST", "tags/delete", body={"tag": {"id": tag_id}})

    async def tag_members(self, tag_id: int, openids: Iterable[str]) -> None:
        """Tags the members, 50 to a call as the platform allows."""
        for batch in _batches(openids, TAGGING_BATCH):
            await self._call("POST", "tags/members/batchtagging", body={"openid_list": batch, "tagid": tag_id})

    async def untag_members(self, tag_id: int, openids: Iterable[str]) -> None:
        for batch in _batches(openids, TAGGING_BATCH):
            await self._call("POST", "tags/members/batchuntagging", body={"openid_list": batch, "tagid": tag_id})

    async def tags_of(self, openid: str) -> list[int]:
        answer = await self._call("POST", "tags/getidlist", body={"openid": openid})
        return [int(t) for t in answer.get("tagid_list", [])]

    async def members_of_tag(self, tag_id: int, next_openid: str = "") -> TagPage:
        answer = await self._call("POST", "user/tag/get", body={"tagid": tag_id, "next_openid": next_openid})
        openids = tuple((answer.get("data") or {}).get("openid") or ())
        return TagPage(openids, answer.get("next_openid", ""))

    # -- calls --------------------------------------------------------------------------------------------------
    async def _call(self, method: str, endpoint: str, *, body: dict | None = None, params: dict | None = None,
                    form: Callable[[], aiohttp.FormData] | None = None, accept: frozenset | set = frozenset()) -> dict:
        token = await self._valid_token()
        request = dict(body=body, params=params, form=form, accept=accept)
        try:
            return await self._with_retries(method, endpoint, token, **request)
        except TokenError as rejected:
            log.debug("access token rejected (%s) on %s: replacing it, retrying once", rejected.errcode, endpoint)
            if self._cached and self._cached.value == token:
                self._cached = None
            token = await self._replace(token)
            return await self._with_retries(method, endpoint, token, **request)

    async def _with_retries(self, method: str, endpoint: str, token: str | None, **request) -> dict:
        attempt = 1
        while True:
            try:
                return await self._once(method, endpoint, token, **request)
            except RetryableError as error:
                if attempt >= self._retry.attempts:
                    log.error("WeChat %s failed after %d tries: %s", endpoint, attempt, error.errmsg)
                    raise
                pause = self._retry.delay(attempt)
                log.warning("WeChat %s failed (%s), try %d in %.2f s", endpoint, error.errmsg, attempt + 1, pause)
                await asyncio.sleep(pause)
                attempt += 1

    async def _once(self, method: str, endpoint: str, token: str | None, *, body, params, form, accept) -> dict:
        data = orjson.dumps(body) if body is not None else (form() if form else None)
        async with self._slots:
            try:
                async with self._session.request(method, self._url(endpoint, token), params=params, data=data,
                                                 headers=JSON_HEADERS if body is not None else None,
                                                 timeout=self._timeout) as response:
                    status, raw = response.status, await response.read()
            except aiohttp.ClientConnectorError as exc:     # no connection: the request never went out
                raise RetryableError(-1, f"network error ({type(exc).__name__})") from None
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                # The exception's text may carry the URL and with it the access token: keep only its kind.
                raise self._no_answer(endpoint, f"network error ({type(exc).__name__})") from None
        try:
            return _answer(status, raw, accept)
        except NoWeChatAnswer as error:                     # a gateway's 5xx, a body that is not WeChat's
            raise self._no_answer(endpoint, error.errmsg) from None

    def _no_answer(self, endpoint: str, what: str) -> WeChatApiError:
        if self._exactly_once and endpoint in SENDS_WITHOUT_IDEMPOTENCY:
            return OutcomeUnknown(-1, what)
        return RetryableError(-1, what)

    def _url(self, endpoint: str, token: str | None) -> yarl.URL:
        """The endpoint's URL with the token in its query, built once per endpoint and token."""
        known = self._urls.get(endpoint)
        if known is None or known[0] != token:
            query = f"?access_token={quote(token, safe='')}" if token else ""
            known = self._urls[endpoint] = (token, yarl.URL(f"{self._base}/cgi-bin/{endpoint}{query}", encoded=True))
        return known[1]

    # -- the access token -----------------------------------------------------------------------------------
    async def _valid_token(self) -> str:
        cached = self._cached
        if cached and self._clock() < cached.expires_at - RENEW_BEFORE_SECONDS:
            return cached.value
        return await self._shared(("load",), self._load_token)

    async def _load_token(self) -> str:
        stored = await self._read_token()
        if stored and self._clock() < stored.expires_at - RENEW_BEFORE_SECONDS:
            return self._remember(stored)
        return await self._replace_across_processes(stored.value if stored else None, failed=False)

    async def _replace(self, failed_token: str) -> str:
        """A token other than the one the platform just rejected."""
        return await self._shared(("failed", failed_token),
                                  lambda: self._replace_across_processes(failed_token, failed=True))

    async def _shared(self, key: tuple, work: Callable[[], Awaitable[str]]) -> str:
        """Concurrent callers in this process wait for one run of `work` (one Redis read, one refresh)."""
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = asyncio.ensure_future(work())
            flight.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(flight)

    def _landed(self, key: tuple, flight: asyncio.Future) -> None:
        self._flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # retrieved here too, in case every caller was cancelled

    async def _replace_across_processes(self, stale: str | None, failed: bool) -> str:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            stored = await self._read_token()
            if self._better_than(stored, stale):
                return self._remember(stored)
            if not failed and await self._renewing_elsewhere(stored, stale):
                return stale
            lock_id = secrets.token_hex(8)
            if await self._redis.set(keys.access_token_lock(self._appid), lock_id, nx=True, px=LOCK_TTL_MS):
                try:
                    return self._remember(await self._refresh_locked(stale, failed))
                finally:
                    await self._release_lock(keys=[keys.access_token_lock(self._appid)], args=[lock_id])
            if time.monotonic() >= deadline:
                raise RetryableError(-1, "timed out waiting for another process to refresh the access token")
            await asyncio.sleep(LOCK_POLL_SECONDS)

    async def _renewing_elsewhere(self, stored: AccessToken | None, stale: str | None) -> bool:
        """Another process holds the lock to renew a token that is still valid: go on using it meanwhile."""
        return (stored is not None and stored.value == stale and self._clock() < stored.expires_at
                and bool(await self._redis.exists(keys.access_token_lock(self._appid))))

    def _better_than(self, stored: AccessToken | None, stale: str | None) -> bool:
        return stored is not None and stored.value != stale and self._clock() < stored.expires_at

    def _remember(self, token: AccessToken) -> str:
        self._cached = token
        return token.value

    async def _refresh_locked(self, stale: str | None, failed: bool) -> AccessToken:
        stored = await self._read_token()
        if self._better_than(stored, stale):
            return stored
        token = await self._fetch_token(force=False)
        forced = failed and token.value == stale
        if forced:
            token = await self._force_token()
        await self._store_token(token)
        if failed:
            log.warning("access token rejected by WeChat: replaced%s", " with force_refresh" if forced else "")
        else:
            log.info("access token renewed")
        return token

    async def _force_token(self) -> AccessToken:
        spacing_key = keys.access_token_forced(self._appid)
        if not await self._redis.set(spacing_key, str(self._clock()), nx=True, ex=FORCE_SPACING_SECONDS):
            raise TokenError(40001, "token rejected, and force_refresh was used less than 30 s ago")
        return await self._fetch_token(force=True)

    async def _fetch_token(self, *, force: bool) -> AccessToken:
        body = {"grant_type": "client_credential", "appid": self._appid, "secret": self._secret,
                "force_refresh": force}
        answer = await self._with_retries("POST", "stable_token", None, body=body, params=None, form=None,
                                          accept=frozenset())
        return AccessToken(answer["access_token"], self._clock() + int(answer["expires_in"]))

    async def _read_token(self) -> AccessToken | None:
        stored = await self._redis.hgetall(keys.access_token(self._appid))
        if not stored.get("token"):
            return None
        return AccessToken(stored["token"], float(stored.get("expires_at") or 0))

    async def _store_token(self, token: AccessToken) -> None:
        key = keys.access_token(self._appid)
        lifetime = max(1, int(token.expires_at - self._clock()))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"token": token.value, "expires_at": repr(token.expires_at)})
            pipe.expire(key, lifetime)
            await pipe.execute()


class NoWeChatAnswer(RetryableError):
    """HTTP 5xx, or a body that is not a JSON object: something between us and WeChat failed."""


def _answer(status: int, raw: bytes, accept) -> dict:
    if status >= 500:
        raise NoWeChatAnswer(-1, f"HTTP {status}")
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        if status >= 400:
            raise PermanentError(status, f"HTTP {status} without a WeChat answer")
        raise NoWeChatAnswer(-1, f"HTTP {status} with a body that is not a JSON object")
    errcode = answer.get("errcode") or 0
    if errcode and errcode not in accept:
        raise error_for(errcode, str(answer.get("errmsg", "")))
    if status >= 400 and not errcode:
        raise PermanentError(status, f"HTTP {status}")
    return answer


def _present(**optional: Any) -> dict:
    return {name: value for name, value in optional.items() if value is not None}


def _scene(scene: str) -> str:
    if not 1 <= len(scene) <= SCENE_MAX_CHARS:
        raise ValueError(f"a QR scene is 1 to {SCENE_MAX_CHARS} characters")
    return scene


def _batches(items: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
