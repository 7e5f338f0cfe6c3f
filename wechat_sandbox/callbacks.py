"""Callbacks to the bot as WeChat sends them: signed, encrypted in safe mode, retried, replies read.

WeChat waits 5 s for an answer; without one it tries again with the same message (same MsgId and
CreateTime), 3 tries in all, and then shows the member "该公众号暂时无法提供服务，请稍后再试".
An answer of "success" or an empty body means "no reply". The reply is decrypted and checked the way
the client does: it must be addressed to the member and come from this account.
"""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

import aiohttp
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from .core import Sandbox
from .state import Member

UNAVAILABLE = "该公众号暂时无法提供服务，请稍后再试"
NO_REPLY = ("", "success")


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def to_xml(fields: dict[str, Any], root: str = "xml") -> str:
    """{"A": "x", "B": 1, "C": {"D": "y"}, "E": [{"F": "z"}, …]} -> WeChat-style XML (strings in CDATA)."""
    return f"<{root}>{''.join(_element(name, value) for name, value in fields.items())}</{root}>"


def _element(name: str, value: Any) -> str:
    if isinstance(value, dict):
        return to_xml(value, name)
    if isinstance(value, list):
        return "".join(to_xml(item, name) for item in value)
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    text = str(value).replace("]]>", "]]]]><![CDATA[>")
    return f"<{name}><![CDATA[{text}]]></{name}>"


def flat_fields(xml: bytes | str) -> dict[str, str]:
    root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    fields: dict[str, str] = {}
    for child in root:
        if len(child):
            for grandchild in child:
                fields[f"{child.tag}.{grandchild.tag}"] = grandchild.text or ""
        else:
            fields[child.tag] = child.text or ""
    return fields


class ReplyRejected(ValueError):
    """The bot's answer is not a reply WeChat would show."""


@dataclass
class CallbackOutcome:
    outcome: str                      # replied | no_reply | failed | no_bot
    msg_id: str = ""
    attempts: int = 0
    reply: dict | None = None         # the message the member saw, e.g. {"msgtype": "text", "text": {…}}
    error: str = ""
    tries: list[dict] = field(default_factory=list)

    def view(self) -> dict:
        return {"outcome": self.outcome, "msg_id": self.msg_id, "attempts": self.attempts, "reply": self.reply,
                "error": self.error, "tries": self.tries}


class CallbackSender:
    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        config = sandbox.config
        self.crypto = WeChatCrypto(config.token, config.aes_key, config.appid) if config.aes_key else None

    async def send(self, fields: dict[str, Any], member: Member | None = None) -> CallbackOutcome:
        """Delivers one message or event to the bot, with WeChat's retries; a passive reply goes to `member`."""
        sandbox = self.sandbox
        record = self._record(fields)
        url = sandbox.settings.bot_callback_url
        if not url:
            outcome = CallbackOutcome("no_bot")
        else:
            outcome = await self._deliver(url, to_xml(fields), str(fields["FromUserName"]), record)
        outcome.msg_id = str(record["msg_id"])
        record.update(outcome.view())
        if member is not None:
            if outcome.reply is not None:
                sandbox.deliver(member, "passive", outcome.reply)
            elif outcome.outcome == "failed":
                sandbox.notice(member, UNAVAILABLE)
        return outcome

    def _record(self, fields: dict[str, Any]) -> dict:
        account = self.sandbox.account
        record = {"seq": account.ids.seq(), "at": self.sandbox.now(), "msgtype": fields.get("MsgType", ""),
                  "event": fields.get("Event", ""), "openid": fields.get("FromUserName", ""),
                  "msg_id": fields.get("MsgId") or fields.get("MsgID") or "", "fields": fields,
                  "outcome": "pending", "attempts": 0}
        account.callbacks.append(record)
        return record

    async def _deliver(self, url: str, xml: str, openid: str, record: dict) -> CallbackOutcome:
        outcome = CallbackOutcome("failed")
        for attempt in range(1, self.sandbox.config.callback_tries + 1):
            outcome.attempts = record["attempts"] = attempt
            started = time.monotonic()
            try:
                status, body, query = await self._post(url, xml, openid)
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
                outcome.tries.append(self._try(attempt, started, error=_describe(exc)))
                continue
            outcome.tries.append(self._try(attempt, started, status=status))
            if status != 200:
                continue
            try:
                outcome.reply = self.read_reply(body, query, openid)
            except ReplyRejected as rejected:
                outcome.error = str(rejected)
                return outcome
            outcome.outcome = "replied" if outcome.reply else "no_reply"
            return outcome
        outcome.error = "no answer within the time limit"
        return outcome

    @staticmethod
    def _try(attempt: int, started: float, **result) -> dict:
        return {"attempt": attempt, "ms": round((time.monotonic() - started) * 1000, 1), **result}

    async def _post(self, url: str, xml: str, openid: str) -> tuple[int, bytes, dict]:
        # The query timestamp is real wall time: the bot rejects callbacks more than 300 s off.
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
        query = {"signature": sign(self.sandbox.config.token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "openid": openid}
        body = xml
        if self.crypto is not None:
            body, query["msg_signature"] = self._seal(xml, timestamp, nonce)
            query["encrypt_type"] = "aes"
        timeout = aiohttp.ClientTimeout(total=self.sandbox.settings.callback_timeout)
        async with self.sandbox.session.post(url, params=query, data=body.encode(), timeout=timeout,
                                             headers={"Content-Type": "text/xml"}) as response:
            return response.status, await response.read(), query

    def _seal(self, xml: str, timestamp: str, nonce: str) -> tuple[str, str]:
        sealed = flat_fields(self.crypto.encrypt_message(xml, nonce, timestamp))
        envelope = to_xml({"ToUserName": self.sandbox.config.original_id, "Encrypt": sealed["Encrypt"]})
        return envelope, sealed["MsgSignature"]

    def read_reply(self, body: bytes, query: dict, openid: str) -> dict | None:
        text = body.decode(errors="replace").strip()
        if text in NO_REPLY:
            return None
        fields = self._parse(body)
        if self.crypto is not None:
            fields = self._open(fields)
        if fields.get("ToUserName") != openid or fields.get("FromUserName") != self.sandbox.config.original_id:
            raise ReplyRejected("reply is not addressed from this account to the member")
        return _reply_message(fields)

    @staticmethod
    def _parse(xml: bytes | str) -> dict[str, str]:
        try:
            return flat_fields(xml)
        except (ParseError, DefusedXmlException, ValueError) as exc:
            raise ReplyRejected(f"reply is not well-formed XML ({type(exc).__name__})") from None

    def _open(self, envelope: dict[str, str]) -> dict[str, str]:
        if "Encrypt" not in envelope:
            raise ReplyRejected("safe mode: the reply is not encrypted")
        try:
            plain = self.crypto.decrypt_message({"Encrypt": envelope["Encrypt"]}, envelope.get("MsgSignature", ""),
                                                envelope.get("TimeStamp", ""), envelope.get("Nonce", ""))
        except InvalidSignatureException:
            raise ReplyRejected("safe mode: bad MsgSignature on the reply") from None
        except InvalidAppIdException:
            raise ReplyRejected("safe mode: the reply names another AppID") from None
        except Exception as exc:  # the cipher raises whatever bad bytes make it raise
            raise ReplyRejected(f"safe mode: the reply does not decrypt ({type(exc).__name__})") from None
        return self._parse(plain)


def _reply_message(fields: dict[str, str]) -> dict:
    msgtype = fields.get("MsgType", "")
    if msgtype == "text":
        return {"msgtype": "text", "text": {"content": fields.get("Content", "")}}
    if msgtype == "image":
        return {"msgtype": "image", "image": {"media_id": fields.get("Image.MediaId", "")}}
    if msgtype in ("voice", "video", "music", "news", "transfer_customer_service"):
        return {"msgtype": msgtype, msgtype: {k: v for k, v in fields.items() if "." in k}}
    raise ReplyRejected(f"unknown reply MsgType {msgtype[:20]!r}")


def _describe(exc: BaseException) -> str:
    return "timeout" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
