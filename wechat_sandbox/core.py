"""The sandbox itself: configuration, clock, the account's state, faults, and its background jobs."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

import aiohttp

from .clock import SandboxClock
from .config import SandboxConfig
from .errors import ApiError
from .faults import Fault, Faults
from .state import Account, Member

log = logging.getLogger("wechat_sandbox")


@dataclass
class Settings:
    """What the control API may change while the sandbox runs."""
    quotas: bool
    bot_callback_url: str | None
    callback_timeout: float
    job_delay: float

    def view(self) -> dict:
        return {"quotas": self.quotas, "bot_callback_url": self.bot_callback_url,
                "callback_timeout": self.callback_timeout, "job_delay": self.job_delay}


class Sandbox:
    def __init__(self, config: SandboxConfig, wall=time.time):
        self.config = config
        self.clock = SandboxClock(wall)
        self.session: aiohttp.ClientSession | None = None   # for callbacks; opened with the app
        self._tasks: set[asyncio.Task] = set()
        self.reset()

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.clock.offset = 0.0
        self.settings = Settings(self.config.quotas, self.config.bot_callback_url,
                                 self.config.callback_timeout, self.config.job_delay)
        self.account = Account(self.clock.now(), self.config.history_limit)
        self.faults = Faults(self.config.seed)
        self.templates = dict(self.config.templates)
        self.subscribe_templates = dict(self.config.subscribe_templates)
        self.keywords = {template_id: dict(labels) for template_id, labels in self.config.keywords.items()}
        self.daily_limits = dict(self.config.daily_limits)

    def now(self) -> float:
        return self.clock.now()

    # -- API bookkeeping ---------------------------------------------------------------------------
    def authorise(self, access_token: str | None, endpoint: str, fault: Fault | None) -> int:
        """The token's serial number (1 for the first token issued, …), or raises the platform's errcode."""
        serial = self.account.tokens.check(access_token, self.now())
        if fault is not None and self.faults.storms(fault, serial):
            raise ApiError(40001)
        self.count_daily_call(endpoint)
        return serial

    def count_daily_call(self, endpoint: str) -> None:
        limit = self.daily_limits.get(endpoint)
        if limit is None or not self.settings.quotas:
            return
        key = (endpoint, self.clock.day())
        if self.account.daily_calls[key] >= limit:
            raise ApiError(45009)
        self.account.daily_calls[key] += 1

    @contextlib.contextmanager
    def in_flight(self, endpoint: str):
        """Counts the calls being answered, to show how many a client had in flight at its peak."""
        account = self.account
        account.in_flight[endpoint] += 1
        account.peak_in_flight[endpoint] = max(account.peak_in_flight[endpoint], account.in_flight[endpoint])
        try:
            yield
        finally:
            account.in_flight[endpoint] -= 1

    def record_call(self, endpoint: str, errcode: int | None, errmsg: str, started: float, *,
                    openid: str = "", detail: dict | None = None, token_serial: int = 0) -> None:
        account = self.account
        account.call_counts[(endpoint, errcode if errcode is not None else -999)] += 1
        account.calls.append({
            "seq": account.ids.seq(), "at": self.now(), "endpoint": endpoint,
            "errcode": errcode, "errmsg": errmsg, "openid": openid, "detail": detail or {},
            "token_serial": token_serial,
            "ms": round((time.monotonic() - started) * 1000, 1),
        })

    # -- deliveries ----------------------------------------------------------------------------------
    def deliver(self, member: Member, channel: str, message: dict) -> dict:
        """A message reaches the member's chat: passive, custom, template, subscribe or mass."""
        return self.account.record(member, {"at": self.now(), "direction": "out", "channel": channel,
                                            "message": message})

    def member_said(self, member: Member, message: dict) -> dict:
        return self.account.record(member, {"at": self.now(), "direction": "in", "channel": "member",
                                            "message": message})

    def notice(self, member: Member, text: str) -> dict:
        """A line the WeChat client itself shows the member (not from the account)."""
        return self.account.record(member, {"at": self.now(), "direction": "system", "channel": "system",
                                            "message": {"msgtype": "text", "text": {"content": text}}})

    # -- background jobs -----------------------------------------------------------------------------
    def spawn(self, job: Callable[[], Awaitable], delay: float = 0.0) -> None:
        """Runs `job()` after `delay` seconds of real time, tracked so `settle` and shutdown can find it."""
        task = asyncio.ensure_future(self._after(delay, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _after(delay: float, job: Callable[[], Awaitable]) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await job()
        except Exception:
            log.exception("sandbox background job failed")

    async def settle(self) -> int:
        """Waits for every pending background job (callbacks of finished jobs); returns how many ran."""
        settled = 0
        while self._tasks:
            pending = list(self._tasks)
            settled += len(pending)
            await asyncio.gather(*pending, return_exceptions=True)
        return settled

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
