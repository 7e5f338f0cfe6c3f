"""Plays the WeChat platform against our /wechat endpoint: builds, signs and (in safe mode) encrypts
callbacks, and opens the replies. Used by integration tests that need no sandbox."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from aiohttp.test_utils import TestClient
from wechatpy.crypto import WeChatCrypto

from bot.inbound import parse_fields
from bot.wechat_crypto import signature

TOKEN = "test-token"
APPID = "wxtest0000000001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_mall_test"
_msg_ids = itertools.count(7_000_000_000_000_000_001)


@dataclass
class Answer:
    status: int
    body: str

    @property
    def fields(self) -> dict[str, str]:
        return parse_fields(self.body.encode())

    @property
    def content(self) -> str:
        return self.fields["Content"]


def text_xml(openid: str, content: str, msg_id: int | None = None, create_time: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next(_msg_ids)}</MsgId></xml>")


def event_xml(openid: str, event: str, key: str = "", create_time: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>")


class WeChatPeer:
    def __init__(self, client: TestClient, *, token: str = TOKEN, appid: str = APPID, aes_key: str | None = None):
        self.client = client
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    async def post(self, body: str | bytes, *, timestamp: int | None = None, nonce: str = "8271", sign: bool = True,
                   raw: bool = False) -> Answer:
        """Deliver a callback body. Safe mode wraps and encrypts it unless `raw` is set."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        params = {"timestamp": ts, "nonce": nonce, "openid": "o"}
        if self.crypto and not raw:
            envelope = parse_fields(self.crypto.encrypt_message(body, nonce, ts).encode())
            body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]>" \
                   f"</Encrypt></xml>"
            params |= {"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
        params["signature"] = signature(self.token, ts, nonce) if sign else "0" * 40
        response = await self.client.post("/wechat", params=params, data=body)
        return Answer(response.status, await response.text())

    async def post_encrypted_raw(self, encrypt: str, *, timestamp: int | None = None, nonce: str = "8271") -> Answer:
        """Safe mode with a hand-made Encrypt value (for hostile-input tests), correctly signed."""
        ts = str(timestamp or int(time.time()))
        params = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                  "msg_signature": signature(self.token, ts, nonce, encrypt),
                  "signature": signature(self.token, ts, nonce)}
        body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        response = await self.client.post("/wechat", params=params, data=body)
        return Answer(response.status, await response.text())

    def open_reply(self, answer: Answer) -> Answer:
        """Decrypt a safe-mode reply (checking its signature) into the plain reply XML."""
        fields = answer.fields
        plain = self.crypto.decrypt_message(answer.body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
        return Answer(answer.status, plain)

    async def say(self, openid: str, content: str) -> str:
        answer = await self.post(text_xml(openid, content))
        assert answer.status == 200, answer.body
        return (self.open_reply(answer) if self.crypto else answer).content

    async def follow(self, openid: str, scene: str = "", create_time: int | None = None) -> Answer:
        return await self.post(event_xml(openid, "subscribe", f"qrscene_{scene}" if scene else "", create_time))

    async def unfollow(self, openid: str, create_time: int | None = None) -> Answer:
        return await self.post(event_xml(openid, "unsubscribe", create_time=create_time))
