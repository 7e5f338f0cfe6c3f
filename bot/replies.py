"""Outgoing messages: passive-reply XML and customer-service payloads. XML escaping lives here."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SUCCESS = "success"  # WeChat: "no reply, do not retry"


@dataclass(frozen=True, slots=True)
class Text:
    content: str

    def xml_body(self) -> str:
        return f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(self.content)}</Content>"

    def custom_payload(self) -> dict:
        return {"msgtype": "text", "text": {"content": self.content}}


@dataclass(frozen=True, slots=True)
class Image:
    media_id: str

    def xml_body(self) -> str:
        return f"<MsgType><![CDATA[image]]></MsgType><Image><MediaId>{cdata(self.media_id)}</MediaId></Image>"

    def custom_payload(self) -> dict:
        return {"msgtype": "image", "image": {"media_id": self.media_id}}


@dataclass(frozen=True, slots=True)
class ToStaff:
    """Hands the chat to WeChat's customer-service system (a passive reply only: it cannot be sent later)."""
    kf_account: str = ""
    LATE = "转接人工客服超时了，请再发送「人工」。"

    def xml_body(self) -> str:
        account = f"<TransInfo><KfAccount>{cdata(self.kf_account)}</KfAccount></TransInfo>" if self.kf_account else ""
        return f"<MsgType><![CDATA[transfer_customer_service]]></MsgType>{account}"

    def custom_payload(self) -> dict:
        """Too late to hand over: the member is asked to try again."""
        return {"msgtype": "text", "text": {"content": self.LATE}}


Message = Union[Text, Image, ToStaff]
# What a handler returns: nothing (answer "success"), one message, or several. The first is the
# passive reply; the rest go out as customer-service messages right after.
Reply = Union[None, Message, list[Message], tuple[Message, ...]]


def as_messages(reply: Reply) -> list[Message]:
    if reply is None:
        return []
    if isinstance(reply, (list, tuple)):
        return list(reply)
    return [reply]


def cdata(value: str) -> str:
    value = _XML_ILLEGAL.sub("", value)
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def passive_xml(message: Message, *, to_user: str, from_user: str, create_time: int) -> str:
    return (f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{create_time}</CreateTime>{message.xml_body()}</xml>")
