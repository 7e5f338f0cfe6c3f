"""Inbound callback XML -> a typed message. Parsed with DTDs forbidden (no XXE, no entity bombs)."""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class MalformedMessage(ValueError):
    """The body is not a WeChat message we can read; the reason is safe to log."""


def parse_fields(body: bytes) -> dict[str, str]:
    """`<xml><A>x</A>…</xml>` -> {"A": "x", …}; nested elements become "Parent.Child" entries."""
    if not body or not body.strip():
        raise MalformedMessage("empty body")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MalformedMessage(f"forbidden XML construct: {type(exc).__name__}") from None
    except (ParseError, ValueError) as exc:
        raise MalformedMessage(f"not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise MalformedMessage(f"unexpected root element <{root.tag[:20]}>")
    fields: dict[str, str] = {}
    for child in root:
        if len(child):
            for grandchild in child:
                fields[f"{child.tag}.{grandchild.tag}"] = (grandchild.text or "").strip()
        else:
            fields[child.tag] = child.text or ""
    return fields


@dataclass(frozen=True, slots=True)
class Inbound:
    to_user: str
    openid: str
    create_time: int
    msg_type: str
    msg_id: str = ""
    content: str = ""
    event: str = ""            # lower case: subscribe, unsubscribe, scan, click, view, …
    event_key: str = ""
    fields: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> "Inbound":
        missing = [name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)]
        if missing:
            raise MalformedMessage(f"missing {', '.join(missing)}")
        try:
            create_time = int(fields["CreateTime"])
        except ValueError:
            raise MalformedMessage("CreateTime is not a number") from None
        return cls(
            to_user=fields["ToUserName"], openid=fields["FromUserName"], create_time=create_time,
            msg_type=fields["MsgType"].strip().lower(), msg_id=fields.get("MsgId", "").strip(),
            content=fields.get("Content", ""), event=fields.get("Event", "").strip().lower(),
            event_key=fields.get("EventKey", "").strip(), fields=fields,
        )

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def delivery_key(self) -> str:
        """What identifies one delivery across WeChat's retries."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.openid}:{self.create_time}:{self.event}"

    @property
    def scene(self) -> str:
        """The parametric QR scene of a subscribe (qrscene_<scene>) or SCAN event, else ''."""
        if self.event == "subscribe" and self.event_key.startswith("qrscene_"):
            return self.event_key[len("qrscene_"):]
        if self.event == "scan":
            return self.event_key
        return ""
