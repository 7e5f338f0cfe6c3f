"""Inbound callback XML -> a typed message.

Parsed by expat (C) into ElementTree's C tree builder, with any document type declaration refused
before its first declaration is read: without a DTD there are no entities to expand (billion laughs)
and no external entities to fetch (XXE). This is defusedxml's rule, applied without its pure-Python
parser, which cost several times more per message.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import TreeBuilder
from xml.parsers import expat


class MalformedMessage(ValueError):
    """The body is not a WeChat message we can read; the reason is safe to log."""


def parse_fields(body: bytes) -> dict[str, Any]:
    """`<xml><A>x</A>…</xml>` -> {"A": "x", …}. A nested element becomes a dict of its leaves
    (`ScanCodeInfo`), or a list of such dicts when it holds repeated groups
    (`SubscribeMsgPopupEvent` with one `List` per template)."""
    if not body or not body.strip():
        raise MalformedMessage("empty body")
    root = _element_tree(body)
    if root.tag != "xml":
        raise MalformedMessage(f"unexpected root element <{root.tag[:20]}>")
    fields: dict[str, Any] = {}
    for child in root:
        if not len(child):
            fields[child.tag] = child.text or ""
        elif any(len(grandchild) for grandchild in child):
            fields[child.tag] = [_leaves(group) for group in child if len(group)]
        else:
            fields[child.tag] = _leaves(child)
    return fields


def _element_tree(body: bytes):
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("a document type declaration")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler = builder.start, builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
        return builder.close()
    except (expat.ExpatError, ValueError, AssertionError) as exc:  # close() asserts on an unfinished tree
        raise MalformedMessage(f"not well-formed XML: {exc}") from None


def _refuse(construct: str):
    def handler(*_):
        raise MalformedMessage(f"forbidden XML construct: {construct}")
    return handler


def _leaves(element) -> dict[str, str]:
    return {leaf.tag: (leaf.text or "").strip() for leaf in element if not len(leaf)}


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name, "")
    return value if isinstance(value, str) else ""


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
    fields: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> "Inbound":
        required = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
        missing = [name for name in required if not isinstance(fields.get(name), str) or not fields[name]]
        if missing:
            raise MalformedMessage(f"missing {', '.join(missing)}")
        try:
            create_time = int(fields["CreateTime"])
        except ValueError:
            raise MalformedMessage("CreateTime is not a number") from None
        return cls(
            to_user=fields["ToUserName"], openid=fields["FromUserName"], create_time=create_time,
            msg_type=fields["MsgType"].strip().lower(), msg_id=_text(fields, "MsgId").strip(),
            content=_text(fields, "Content"), event=_text(fields, "Event").strip().lower(),
            event_key=_text(fields, "EventKey").strip(), fields=fields,
        )

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"

    @property
    def delivery_key(self) -> str:
        """What identifies one delivery across WeChat's retries. An event has no id: it is its sender, time,
        type and key (two menu taps within one second differ only in their EventKey; retries repeat it)."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        job_id = _text(self.fields, "MsgID")  # mass and template job reports spell it this way
        if job_id:
            return f"job:{self.event}:{job_id}"
        # A digest, not the openid itself: the key names Redis keys (the retry claim, the member's operations).
        event = f"{self.openid}:{self.create_time}:{self.event}:{self.event_key}"
        return f"evt:{hashlib.sha256(event.encode()).hexdigest()[:32]}"

    def groups(self, name: str) -> list[dict[str, str]]:
        """Repeated nested groups, e.g. groups("SubscribeMsgPopupEvent") -> one dict per template."""
        value = self.fields.get(name)
        if isinstance(value, dict):
            return [value]
        return value if isinstance(value, list) else []

    @property
    def scene(self) -> str:
        """The parametric QR scene of a subscribe (qrscene_<scene>) or SCAN event, else ''."""
        if self.event == "subscribe" and self.event_key.startswith("qrscene_"):
            return self.event_key[len("qrscene_"):]
        if self.event == "scan":
            return self.event_key
        return ""
