"""What a member does in the WeChat client: follow, unfollow, type, tap the menu, scan, consent.

Each action changes the platform's state the way WeChat does (customer-service window, follower
list), shows up in the member's conversation, and is delivered to the bot as a callback.
"""
from __future__ import annotations

from .callbacks import CallbackOutcome, CallbackSender
from .core import Sandbox
from .rules import Window
from .state import Member


class ActionRefused(ValueError):
    """The WeChat client would not let the member do this (e.g. scan an expired code)."""


class MemberActions:
    def __init__(self, sandbox: Sandbox, callbacks: CallbackSender):
        self.sandbox = sandbox
        self.callbacks = callbacks

    def _member(self, openid: str) -> Member:
        member = self.sandbox.account.members.get(openid)
        if member is None:
            raise ActionRefused("no such member: create the persona first")
        return member

    def _fields(self, member: Member, msgtype: str, **more) -> dict:
        return {"ToUserName": self.sandbox.config.original_id, "FromUserName": member.openid,
                "CreateTime": int(self.sandbox.now()), "MsgType": msgtype, **more}

    def _open_window(self, member: Member, action: str) -> None:
        member.window = Window.opened_by(action, self.sandbox.now())

    async def follow(self, openid: str, *, ticket: str = "", scene: str = "") -> CallbackOutcome:
        if ticket or scene:
            return await self.scan(openid, ticket=ticket, scene=scene)
        member = self._member(openid)
        if member.subscribed:
            return CallbackOutcome("already_following")
        self.sandbox.account.set_following(member, True, self.sandbox.now(), "ADD_SCENE_SEARCH")
        self._open_window(member, "follow")
        self._said(member, "event", event="subscribe")
        return await self.callbacks.send(self._fields(member, "event", Event="subscribe"), member)

    async def unfollow(self, openid: str) -> CallbackOutcome:
        member = self._member(openid)
        if not member.subscribed:
            return CallbackOutcome("not_following")
        self.sandbox.account.set_following(member, False, self.sandbox.now())
        self._said(member, "event", event="unsubscribe")
        return await self.callbacks.send(self._fields(member, "event", Event="unsubscribe"))

    async def text(self, openid: str, content: str) -> CallbackOutcome:
        member = self._following(openid)
        self._open_window(member, "message")
        msg_id = self.sandbox.account.ids.msg_id()
        self.sandbox.member_said(member, {"msgtype": "text", "text": {"content": content}, "msg_id": msg_id})
        fields = self._fields(member, "text", Content=content, MsgId=msg_id)
        return await self.callbacks.send(fields, member)

    async def click(self, openid: str, key: str) -> CallbackOutcome:
        member = self._following(openid)
        self._open_window(member, "click")
        self._said(member, "event", event="CLICK", key=key)
        return await self.callbacks.send(self._fields(member, "event", Event="CLICK", EventKey=key), member)

    async def view(self, openid: str, url: str) -> CallbackOutcome:
        member = self._following(openid)   # a link tap opens no customer-service window
        self._said(member, "event", event="VIEW", key=url)
        return await self.callbacks.send(self._fields(member, "event", Event="VIEW", EventKey=url), member)

    async def scan(self, openid: str, *, ticket: str = "", scene: str = "") -> CallbackOutcome:
        member = self._member(openid)
        scene, ticket = self._scene_of(ticket, scene)
        now = self.sandbox.now()
        if member.subscribed:
            self._open_window(member, "scan")
            self._said(member, "event", event="SCAN", key=scene)
            fields = self._fields(member, "event", Event="SCAN", EventKey=scene, Ticket=ticket)
        else:
            self.sandbox.account.set_following(member, True, now, "ADD_SCENE_QR_CODE", scene)
            self._open_window(member, "follow")
            self._said(member, "event", event="subscribe", key=f"qrscene_{scene}")
            fields = self._fields(member, "event", Event="subscribe", EventKey=f"qrscene_{scene}", Ticket=ticket)
        return await self.callbacks.send(fields, member)

    async def consent(self, openid: str, template_ids: list[str], accept: bool) -> CallbackOutcome:
        """The subscribe-message pop-up: each accepted template allows the account one more send."""
        member = self._member(openid)
        unknown = [t for t in template_ids if t not in self.sandbox.subscribe_templates]
        if unknown or not template_ids:
            raise ActionRefused(f"not a subscribe template of this account: {unknown or template_ids}")
        status = "accept" if accept else "reject"
        for template_id in template_ids:
            if accept:
                member.consents[template_id] = member.consents.get(template_id, 0) + 1
        self._said(member, "event", event="subscribe_msg_popup_event", key=f"{status}:{','.join(template_ids)}")
        items = [{"TemplateId": t, "SubscribeStatusString": status, "PopupScene": 2} for t in template_ids]
        fields = self._fields(member, "event", Event="subscribe_msg_popup_event",
                              SubscribeMsgPopupEvent={"List": items})
        return await self.callbacks.send(fields, member)

    def _following(self, openid: str) -> Member:
        member = self._member(openid)
        if not member.subscribed:
            raise ActionRefused("the member does not follow the account")
        return member

    def _scene_of(self, ticket: str, scene: str) -> tuple[str, str]:
        if not ticket:
            return scene, ""
        qrcode = self.sandbox.account.qrcodes.get(ticket)
        if qrcode is None:
            raise ActionRefused("no QR code with this ticket")
        if qrcode.expired(self.sandbox.now()):
            raise ActionRefused("二维码已过期 (the QR code has expired)")
        return qrcode.scene, ticket

    def _said(self, member: Member, msgtype: str, *, event: str, key: str = "") -> None:
        self.sandbox.member_said(member, {"msgtype": msgtype, "event": event, "event_key": key})
