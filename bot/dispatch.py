"""From a parsed message to the reply XML: retry dedup across processes, the time budget, errors.

The first delivery of a message claims its dedup key in Redis and runs the handler; concurrent or
later retries (WeChat tries 3 times) wait for that run's stored reply instead of running again.
A handler that misses the budget keeps running; WeChat gets "success" now and the member gets the
reply as a customer-service message when it is ready.

Every delivery that is a member's action (a message, a menu tap, a follow, a scan) opens the member's
customer-service window in our facts, as the platform does. The bot's own customer-service messages — late
replies and the follow-ups of a reply — take their message from that window like any push; one the window
has no room for waits in the member's pending inbox. A member's message releases that inbox: up to a few
pending pushes follow the reply in the window it opened.

The claim is a lease a little longer than the budget: by then a live first delivery has stored its
reply or marked it deferred (both kept for DEDUP_TTL_SECONDS). A claim that lapses with neither means
its process died, and the retry that finds it gone runs the handler itself.

Redis unreachable, or hanging past the budget: the member gets a short "busy" text (busy.txt) inside
WeChat's 5 s (REPLY_MARGIN_SECONDS after the budget, whatever the Redis timeouts), and the outage is
logged once, not per message.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Protocol

import orjson

from loyalty_core import keys
from loyalty_core.clock import MALL_TZ
from loyalty_core.errors import DomainError
from loyalty_core.push.model import Content, Push
from loyalty_core.redis_store.connection import UNAVAILABLE, OutageLog

from .context import Ctx
from .inbound import Inbound
from .replies import SUCCESS, Message, Text, as_messages, passive_xml
from .router import Match, Router
from .templating import Templates
from .wechat_api import OutsideWindow, WindowUsedUp

log = logging.getLogger("bot.dispatch")

DEDUP_TTL_SECONDS = 300
PENDING, DEFERRED = b'{"s":"pending"}', b'{"s":"deferred"}'
DEFAULT_BUDGET = 4.5
CLAIM_MARGIN_SECONDS = 2.0    # how long past the budget a claim outlives a first delivery that went silent
REPLY_MARGIN_SECONDS = 0.3    # past the budget, a reply is given up for the busy text (WeChat waits 5 s)
# Message types WeChat documents for official accounts; anything else is answered "success" untouched.
KNOWN_TYPES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link", "event"})
# Events that come from the platform, or that manage membership themselves.
NO_IMPLICIT_JOIN = frozenset({"subscribe", "unsubscribe", "templatesendjobfinish", "masssendjobfinish"})
# The events that open a customer-service window (any message does): the platform's own list.
WINDOW_EVENTS = {"subscribe": "follow", "scan": "scan", "click": "click"}
REPLY_WAITS = timedelta(hours=48)       # how long a reply the window had no room for waits for the member


class CustomSender(Protocol):
    async def send_custom(self, openid: str, payload: dict) -> None: ...


class Dispatcher:
    def __init__(self, router: Router, services, templates: Templates, sender: CustomSender | None,
                 budget: float = DEFAULT_BUDGET, claim_seconds: float | None = None):
        self.router = router
        self.services = services
        self.templates = templates
        self.batcher = services.batcher
        self.sender = sender
        self.budget = budget
        self.claim_ms = int(1000 * (claim_seconds if claim_seconds is not None else budget + CLAIM_MARGIN_SECONDS))
        self.background: set[asyncio.Task] = set()
        self.outage = OutageLog(log, "WeChat callbacks")

    async def reply(self, message: Inbound, started: float) -> str:
        """The reply to this delivery within WeChat's time, whatever Redis does: unreachable or hanging, the
        member gets the busy text."""
        try:
            async with asyncio.timeout(started + self.budget + REPLY_MARGIN_SECONDS - time.monotonic()):
                xml = await self.respond(message, started)
        except (TimeoutError, *UNAVAILABLE) as error:
            self.outage.failed(error)
            return self._passive(message, [Text(self.templates.render("busy.txt"))])
        self.outage.succeeded()
        return xml

    async def respond(self, message: Inbound, started: float | None = None) -> str:
        """The plaintext reply XML for this delivery, or "success"."""
        if message.msg_type not in KNOWN_TYPES:
            log.info("ignored a message of unknown type %r", message.msg_type[:20])
            return SUCCESS
        deadline = (started or time.monotonic()) + self.budget
        key = keys.callback_dedup(message.delivery_key)
        while not await self.batcher.call("SET", key, PENDING, "NX", "PX", self.claim_ms):
            reply = await self._reply_of_first_delivery(key, deadline)
            if reply is not None:
                return reply
            log.warning("a delivery's claim lapsed without a reply, running it again: type=%s", message.msg_type)
        run = asyncio.create_task(self._run(message))
        if not await finished_within(run, deadline - time.monotonic()):
            self._track(self._deliver_late(message, run))     # first: the mark below may find Redis hanging
            await self.batcher.call("SET", key, DEFERRED, "EX", DEDUP_TTL_SECONDS)
            log.warning("handler over budget, reply deferred to customer service: type=%s", message.msg_type)
            return SUCCESS
        messages, member_id, pending = run.result()
        xml = self._passive(message, messages)
        # Sealed: a reply names its member (ToUserName, the openid) and may show their birthday or phone.
        sealed = self.services.pii.encrypt(xml, context="callback-reply")
        await self.batcher.call("SET", key, orjson.dumps({"s": "done", "r": sealed}), "EX", DEDUP_TTL_SECONDS)
        if len(messages) > 1 or (pending and not message.is_event):
            self._track(self._follow_up(message, member_id, messages[1:], pending))
        return xml

    async def _reply_of_first_delivery(self, key: str, deadline: float) -> str | None:
        """The first delivery's reply; "success" when it was deferred or is still running at our deadline;
        None when its claim lapsed with no outcome (its process died) and this delivery may run it."""
        pause = 0.01
        while True:
            raw = await self.batcher.call("GET", key)
            if raw is None:
                return None if time.monotonic() < deadline else SUCCESS
            state = orjson.loads(raw)
            if state["s"] == "done":
                return self.services.pii.decrypt(state["r"], context="callback-reply")
            if state["s"] != "pending" or time.monotonic() + pause > deadline:
                return SUCCESS
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 0.1)

    async def _run(self, message: Inbound) -> tuple[list[Message], str | None, int]:
        """The reply's messages, the member it is for (None for platform reports), and how many pushes wait in
        that member's pending inbox. A known member's window is noted beside the handler (their first commands
        share a pipeline); a new follower's once the handler has made the member."""
        ctx = Ctx(message=message, services=self.services, templates=self.templates,
                  now=self.services.clock.now(), commands=self.router.commands,
                  confirmations=self.router.confirmations)
        noting = None
        try:
            await self._identify(ctx)
            noting = asyncio.ensure_future(self._note_action(ctx)) if ctx.member_id else None
            messages = as_messages(await self._dispatch(ctx))
        except DomainError as error:
            messages = [self._domain_error_reply(ctx, error)]
        except UNAVAILABLE as error:
            self.outage.failed(error)
            messages = [ctx.render("busy.txt")]
        except Exception:
            correlation = uuid.uuid4().hex[:12]
            log.exception("handler failed: correlation=%s type=%s event=%s member=%s",
                          correlation, message.msg_type, message.event, ctx.member_id)
            messages = [ctx.render("error.txt", correlation=correlation)]
        pending = await noting if noting is not None else await self._note_action(ctx)
        return messages, ctx.member_id, pending

    async def _note_action(self, ctx: Ctx) -> int:
        """The member's window as the platform keeps it: opened by this action, closed by an unfollow. Returns
        how many pushes wait in the member's pending inbox."""
        message = ctx.message
        if ctx.member_id is None:
            return 0
        action = WINDOW_EVENTS.get(message.event) if message.is_event else "message"
        pushes = self.services.pushes
        try:
            if message.event == "unsubscribe":
                await pushes.member_left(ctx.member_id)
            elif action is not None:
                noted = await pushes.member_acted(ctx.member_id, action,
                                                  datetime.fromtimestamp(message.create_time, MALL_TZ),
                                                  message.delivery_key)
                return noted.pending
        except Exception as exc:  # noqa: BLE001 - the reply goes out all the same; the window stays as it was
            log.warning("customer-service window not updated: member=%s (%s)", ctx.member_id, type(exc).__name__)
        return 0

    async def _identify(self, ctx: Ctx) -> None:
        members = self.services.members
        ctx.member_id = await members.member_id_for_openid(ctx.openid)
        if ctx.member_id is None and ctx.message.event not in NO_IMPLICIT_JOIN:
            ctx.joined = await members.follow(ctx.openid, ctx.message.delivery_key, via="message")
            ctx.member_id = ctx.joined.member_id

    async def _dispatch(self, ctx: Ctx):
        message = ctx.message
        # A sender this message made a member is greeted after the answer, but welcomed first, so that
        # the answer already counts what the welcome gave.
        joined = self.router.join_handler if ctx.joined is not None else None
        greeting = await joined(ctx) if joined else None
        if message.is_event:
            match = self.router.match_event(message.event, message.event_key)
        elif message.msg_type == "text":
            match = self.router.match_text(message.content)
        else:
            match = None
        if match is None and not message.is_event:  # unknown text, pictures, voice…: offer help
            match = Match(self.router.fallback_handler)
        reply = None
        if match is not None:
            ctx.args = match.args
            reply = await match.handler(ctx)
        scene = self.router.match_scene(message.scene) if message.scene else None
        if scene is not None:
            ctx.args = scene.args
            reply = _combine(reply, await scene.handler(ctx))
        return _combine(reply, greeting)

    def _domain_error_reply(self, ctx: Ctx, error: DomainError) -> Text:
        name = f"errors/{error.code}.txt"
        if self.templates.exists(name):
            return ctx.render(name, **error.params)
        log.info("no chat text for domain error %s: answered with the generic one", error.code)
        return ctx.render("errors/generic.txt")   # error.text is English, for logs and the API

    def _passive(self, message: Inbound, messages: list[Message]) -> str:
        if not messages:
            return SUCCESS
        return passive_xml(messages[0], to_user=message.openid, from_user=message.to_user,
                           create_time=int(time.time()))

    async def _deliver_late(self, message: Inbound, run: asyncio.Task) -> None:
        messages, member_id, pending = await run
        await self._follow_up(message, member_id, messages, pending)

    async def _follow_up(self, message: Inbound, member_id: str | None, messages: list[Message],
                         pending: int) -> None:
        """Customer-service messages after (or instead of) the passive reply; then, after a member's message,
        the pushes waiting in the member's pending inbox (`pending` of them, as the window's step counted)."""
        await self._send_custom(message, member_id, messages)
        if member_id and pending and not message.is_event:
            try:
                await self.services.pushes.release_inbox(member_id)
            except Exception as exc:  # noqa: BLE001 - they wait for the next message
                log.warning("pending inbox not released: member=%s (%s)", member_id, type(exc).__name__)

    async def _send_custom(self, message: Inbound, member_id: str | None, messages: list[Message]) -> None:
        if messages and self.sender is None:
            log.error("no WeChat API client configured: %d customer-service message(s) dropped", len(messages))
            return
        pushes = self.services.pushes
        for n, item in enumerate(messages):
            try:
                if member_id is not None and not await pushes.take_window(member_id):
                    await self._wait_in_inbox(message, member_id, n, item)
                    continue
                await self.sender.send_custom(message.openid, item.custom_payload())
            except (OutsideWindow, WindowUsedUp):
                await pushes.window_refused(member_id)
                await self._wait_in_inbox(message, member_id, n, item)
            except Exception as exc:  # noqa: BLE001 - a failed push must not kill the loop
                log.warning("customer-service message failed: %s", type(exc).__name__)

    async def _wait_in_inbox(self, message: Inbound, member_id: str, n: int, item: Message) -> None:
        """A reply the window has no room for waits for the member's next message, like any push."""
        reply = Push(push_id="", member_id=member_id, kind="service", topic="reply", urgency="now",
                     not_after=self.services.clock.now() + REPLY_WAITS, content=Content(custom=item.custom_payload()),
                     dedup_key=f"reply:{message.delivery_key}:{n}")
        await self.services.pushes.plan(reply)
        log.info("customer-service window full: a reply waits in the pending inbox: member=%s", member_id)

    def _track(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for deferred replies and follow-up messages (at shutdown and in tests)."""
        if self.background:
            await asyncio.wait(list(self.background), timeout=timeout)


async def finished_within(task: asyncio.Task, seconds: float) -> bool:
    """Wait for the task at most `seconds`; it goes on running either way (unlike wait_for, which
    cancels; and cheaper than wait_for over shield, which this replaces on the hot path)."""
    if task.done():
        return True
    waiter = asyncio.get_running_loop().create_future()

    def wake(_=None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    task.add_done_callback(wake)
    timer = asyncio.get_running_loop().call_later(max(seconds, 0.0), wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    return task.done()


def _combine(first, second):
    if second is None:
        return first
    if first is None:
        return second
    a, b = as_messages(first), as_messages(second)
    if isinstance(a[0], Text) and isinstance(b[0], Text):
        return [Text(a[0].content + "\n\n" + b[0].content), *a[1:], *b[1:]]
    return [*a, *b]
