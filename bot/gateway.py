"""GET|POST /wechat: prove the request is a fresh WeChat callback, then hand it to the dispatcher.

Answers: 403 for a bad signature, a stale timestamp or a foreign AppID; 413 for a body over 64 KiB;
400 for a body that is not a readable message; otherwise 200 with a reply or "success". Never a 500.
"""
from __future__ import annotations

import logging
import time
import uuid

from aiohttp import web

from .dispatch import Dispatcher
from .metrics import CALLBACKS, HANDLER_SECONDS
from .inbound import Inbound, MalformedMessage, parse_fields
from .replies import SUCCESS, Text, passive_xml
from .wechat_crypto import CallbackRejected, SafeModeCrypto, check_signature

log = logging.getLogger("bot.gateway")

MAX_BODY = 64 * 1024
REPLAY_WINDOW_SECONDS = 300
APOLOGY = "抱歉，系统开了个小差，请稍后再试。"


class WeChatGateway:
    """`accept_plaintext`: whether a callback without encryption is taken. With a safe-mode key it is not (unless
    WECHAT_ALLOW_PLAINTEXT=1, e.g. while switching modes): its signature covers only timestamp and nonce, so
    anyone who saw one callback URL could post any message with it."""

    def __init__(self, token: str, dispatcher: Dispatcher, crypto: SafeModeCrypto | None,
                 *, accept_plaintext: bool, wall_clock=time.time):
        self.token = token
        self.dispatcher = dispatcher
        self.crypto = crypto
        self.accept_plaintext = accept_plaintext
        self._wall_clock = wall_clock

    async def verify(self, request: web.Request) -> web.Response:
        """WeChat's URL check: echo `echostr` if the signature is ours."""
        query = request.query
        try:
            self._check_fresh(query.get("timestamp", ""))
            check_signature(query.get("signature", ""), self.token, query.get("timestamp", ""),
                            query.get("nonce", ""))
        except CallbackRejected as rejected:
            return self._rejected(rejected)
        return web.Response(text=query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        safe_mode = query.get("encrypt_type", "raw").lower() == "aes"
        try:
            self._check_fresh(timestamp)
            body = await self._read_body(request)
            if safe_mode:
                fields = self._open_envelope(body, query, timestamp, nonce)
            elif not self.accept_plaintext:
                raise CallbackRejected("plaintext callback refused: safe mode is configured")
            else:
                check_signature(query.get("signature", ""), self.token, timestamp, nonce)
                fields = parse_fields(body)
            message = Inbound.from_fields(fields)
        except CallbackRejected as rejected:
            return self._rejected(rejected)
        except MalformedMessage as bad:
            return self._rejected(CallbackRejected(f"malformed message: {bad}", 400))
        reply = await self._reply_to(message, started)
        CALLBACKS.labels("success" if reply == SUCCESS else "reply").inc()
        HANDLER_SECONDS.observe(time.monotonic() - started)
        if reply == SUCCESS or not safe_mode:
            return web.Response(text=reply, content_type="application/xml" if reply != SUCCESS else "text/plain")
        return web.Response(text=self.crypto.encrypt(reply, str(int(self._wall_clock())), nonce),
                            content_type="application/xml")

    async def _reply_to(self, message: Inbound, started: float) -> str:
        try:
            return await self.dispatcher.reply(message, started)
        except Exception:  # a bug outside the handler: apologise, never a 500
            correlation = uuid.uuid4().hex[:12]
            log.exception("callback failed outside the handler: correlation=%s", correlation)
            return passive_xml(Text(f"{APOLOGY}（编号 {correlation}）"), to_user=message.openid,
                               from_user=message.to_user, create_time=int(self._wall_clock()))

    def _open_envelope(self, body: bytes, query, timestamp: str, nonce: str) -> dict[str, str]:
        if self.crypto is None:
            raise CallbackRejected("safe mode is not configured (no WECHAT_AES_KEY)")
        outer = parse_fields(body)
        encrypt = outer.get("Encrypt")
        if not encrypt or not isinstance(encrypt, str):     # (an element with children reads as a dict)
            raise MalformedMessage("no Encrypt text")
        return parse_fields(self.crypto.decrypt(encrypt, query.get("msg_signature", ""), timestamp, nonce))

    def _check_fresh(self, timestamp: str) -> None:
        if not (timestamp.isascii() and timestamp.isdigit()):   # str.isdigit() also passes '²', which int() refuses
            raise CallbackRejected("missing or bad timestamp")
        if abs(self._wall_clock() - int(timestamp)) > REPLAY_WINDOW_SECONDS:
            raise CallbackRejected("timestamp outside the replay window")

    async def _read_body(self, request: web.Request) -> bytes:
        if request.content_length is not None:
            if request.content_length > MAX_BODY:
                raise CallbackRejected("body over 64 KiB", 413)
            return await request.read()
        body = bytearray()  # chunked: count as it arrives
        async for chunk in request.content.iter_chunked(16 * 1024):
            body += chunk
            if len(body) > MAX_BODY:
                raise CallbackRejected("body over 64 KiB", 413)
        return bytes(body)

    def _rejected(self, rejected: CallbackRejected) -> web.Response:
        CALLBACKS.labels(f"rejected_{rejected.status}").inc()
        log.warning("callback rejected (%s): %s", rejected.status, rejected.reason)
        return web.Response(status=rejected.status, text=rejected.reason)
