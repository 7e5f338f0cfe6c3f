"""`python -m bot demo`: Redis, the WeChat sandbox, the bot, a push sender and a scheduler in one process, the
event consumers in a process of their own (`python -m bot consumers`), with demo members. `--processes N`
starts N consumers processes and N - 1 more senders and schedulers beside the demo's own, as a deployment
with several of each runs.

Everything runs on this machine: the sandbox plays WeChat (its chat page is where you are a member),
the bot talks to it through WECHAT_API_BASE exactly as it would talk to WeChat. Redis is the embedded
one (data kept in ./var/redis) unless REDIS_URL is set. Demo data is loaded idempotently, so a restart
finds the same members with the same points.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import subprocess
import sys

import aiohttp
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from loyalty_core import errors
from loyalty_core.members import MemberRef
from loyalty_core.till import PurchaseRequest
from wechat_sandbox.app import create_sandbox_app
from wechat_sandbox.config import SandboxConfig
from wechat_sandbox.testing import SandboxClient

from .app import create_app
from .app_keys import SERVICES
from .menu import MENU
from .process import redis_for, start_site
from .scheduler.process import Scheduler, runner_for
from .scheduler.sender import build_sender
from .services import Services
from .settings import Settings
from .wechat_api import WeChatApiError

log = logging.getLogger("bot.demo")


@dataclass(frozen=True)
class Persona:
    openid: str
    nickname: str
    purchases: tuple[tuple[str, int, str], ...]   # (amount, days ago, category)


PERSONAS = (
    Persona("o_demo_wang", "小王", (("18800", 40, "fashion"), ("23600", 21, "jewellery"), ("12300", 3, "dining"))),
    Persona("o_demo_chen", "陈先生", (("98000", 60, "jewellery"), ("56000", 12, "electronics"))),
    Persona("o_demo_li", "李姐", (("380", 2, "dining"),)),
)


async def run_demo(settings: Settings, stop: asyncio.Event, processes: int = 1) -> None:
    embedded_redis = settings.redis_url is None
    with redis_for(settings) as settings:
        sandbox_url = f"http://127.0.0.1:{settings.sandbox_port}"
        bot_url = f"http://127.0.0.1:{settings.bot_port}"
        settings = settings.with_(wechat_api_base=sandbox_url, sms_provider="sandbox")
        sandbox = create_sandbox_app(SandboxConfig(
            appid=settings.wechat_appid, appsecret=settings.wechat_appsecret, token=settings.wechat_token,
            aes_key=settings.wechat_aes_key, bot_callback_url=f"{bot_url}/wechat", port=settings.sandbox_port))
        bot = create_app(settings)
        async with contextlib.AsyncExitStack() as running:
            for app, port in ((sandbox, settings.sandbox_port), (bot, settings.bot_port)):
                running.push_async_callback((await start_site(app, "127.0.0.1", port)).cleanup)
            await running.enter_async_context(sending(bot[SERVICES], settings))
            await running.enter_async_context(scheduling(bot[SERVICES], settings))
            running.enter_context(helper_processes(settings, processes))
            await prepare(bot[SERVICES], sandbox_url)
            console_password = await demo_console_admin(bot[SERVICES])
            print(banner(settings, sandbox_url, bot_url, embedded_redis, console_password), flush=True)
            await stop.wait()
        print("demo stopped", flush=True)


@contextlib.asynccontextmanager
async def sending(services: Services, settings: Settings):
    """A push sender on the bot's Redis and clock, until the block ends."""
    async with aiohttp.ClientSession() as session:
        sender = build_sender(services.redis, session, settings, services.clock, policy=services.pushes.policy)
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        try:
            yield sender
        finally:
            stop.set()
            await task


@contextlib.asynccontextmanager
async def scheduling(services: Services, settings: Settings):
    """The scheduler's timed jobs on the bot's Redis and clock, until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(Scheduler(runner_for(services, settings.scheduler_lease)).run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


@contextlib.contextmanager
def helper_processes(settings: Settings, processes: int):
    """The consumers processes, and the senders and schedulers beyond the demo's own, on the demo's Redis
    and WeChat; stopped with SIGTERM (each finishes the entry it is on) when the block ends."""
    env = os.environ | {"REDIS_URL": settings.redis_url, "WECHAT_API_BASE": settings.wechat_api_base,
                        "WECHAT_APPID": settings.wechat_appid, "WECHAT_APPSECRET": settings.wechat_appsecret,
                        "SMS_PROVIDER": settings.sms_provider, "PUBLIC_BASE_URL": settings.public_base_url,
                        "PYTHONUNBUFFERED": "1"}
    commands = [["consumers", "--demo"]] * processes + [["sender"], ["scheduler", "--demo"]] * (processes - 1)
    children = [subprocess.Popen([sys.executable, "-m", "bot", *command], env=env) for command in commands]
    try:
        yield children
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


async def prepare(services: Services, sandbox_url: str) -> None:
    """The account's menu, and demo members who already shop here (idempotent)."""
    await services.wechat.create_menu(MENU)
    async with SandboxClient(sandbox_url) as sandbox:
        for persona in PERSONAS:
            await sandbox.add_member(openid=persona.openid, nickname=persona.nickname, follow=True, notify=False)
            await services.members.follow(persona.openid, f"demo:{persona.openid}", via="demo")
            await buy(services, persona)
    await restore_sandbox_tags(services)
    await communities_and_events(services)


DEMO_CONSOLE_ADMIN = "admin@demo"


async def demo_console_admin(services: Services) -> str:
    """The console's demo admin, with a new password at every start (the old one is kept only as a hash)."""
    password = secrets.token_urlsafe(12)
    try:
        await services.console.add_user(DEMO_CONSOLE_ADMIN, "admin", password, by="demo")
    except errors.ConsoleUserExists:
        await services.console.set_password(DEMO_CONSOLE_ADMIN, password, by="demo", reason="the demo started again")
    return password


DEMO_COMMUNITIES = (("yoga", "瑜伽社", "每周六早晨在中庭一起练习"), ("wine", "品酒会", "每月一次新酒品鉴"))


async def restore_sandbox_tags(services: Services) -> None:
    """The sandbox forgets its tags when it stops, WeChat does not: a restarted demo makes them again, in the
    communities' order (so they get the same tag ids), with their members."""
    for community in await services.communities.listing():
        try:
            tag = await services.wechat.create_tag(community.name)
        except WeChatApiError:
            continue                       # the sandbox has it already
        if tag.id != community.tag_id:
            log.warning("demo community %s: the sandbox gave tag %d, not %d", community.community_id, tag.id,
                        community.tag_id)
            continue
        openids = [(await services.members.get(member_id)).openid
                   async for member_id in services.communities.members(community.community_id)]
        await services.wechat.tag_members(community.tag_id, openids)


async def communities_and_events(services: Services) -> None:
    """Two communities (李姐 manages 瑜伽社, which 小王 and 陈先生 joined) and a tasting next week (idempotent)."""
    for community_id, name, description in DEMO_COMMUNITIES:
        await services.communities.create(community_id, name, description)
    await services.communities.add_manager("yoga", "o_demo_li")
    for persona in PERSONAS[:2]:
        await services.communities.join(await services.members.member_id_for_openid(persona.openid), "瑜伽社")
    starts = (services.clock.now() + timedelta(days=7)).replace(hour=19, minute=0, second=0, microsecond=0)
    try:
        await services.events.publish({
            "event_id": f"demo-tasting-{starts:%Y%m%d}", "title": "春季品酒会", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(), "place": "三楼中庭", "capacity": 2,
            "notes": "请着正装，可携一位家属"})
    except errors.EventConflict:
        pass                               # published by an earlier start of the demo


async def buy(services: Services, persona: Persona) -> None:
    now = services.clock.now()
    for n, (amount, days_ago, category) in enumerate(persona.purchases):
        request = PurchaseRequest(txn_id=f"DEMO-{persona.openid}-{n}", member=MemberRef("openid", persona.openid),
                                  amount=Decimal(amount), occurred_at=now - timedelta(days=days_ago),
                                  category=category, store_id="S01")
        try:
            await services.till.purchase(request)
        except errors.DomainError as error:  # e.g. a seed older than the till accepts: skip it
            log.info("demo purchase %s skipped: %s", request.txn_id, error.code)


def banner(settings: Settings, sandbox_url: str, bot_url: str, embedded_redis: bool, console_password: str) -> str:
    redis = f"{settings.redis_url} (embedded, data in {settings.data_dir}/redis)" if embedded_redis \
        else settings.redis_url
    personas = ", ".join(f"{p.nickname} ({p.openid})" for p in PERSONAS)
    return f"""
  ───────────────────────────────────────────────────────────────
   Mall member program — local demo
   Chat page (be a member):  {sandbox_url}/
   Bot callback endpoint:    {bot_url}/wechat   ({'safe mode' if settings.safe_mode else 'plaintext'})
   Till API:                 {bot_url}/api/v1    (POS secret: {settings.pos_api_secret})
   Admin API:                {bot_url}/api/v1/admin    (admin secret: {settings.admin_api_secret})
   Operator console:         {bot_url}/console/login   {DEMO_CONSOLE_ADMIN} / {console_password}
   Health / metrics:         {bot_url}/healthz   {bot_url}/metrics
   Redis:                    {redis}
   Demo members:             {personas}
   Communities and events:   send 社群 or 活动; 李姐 manages 瑜伽社 (广播 瑜伽社 … → 确认, then 广播记录)
   A purchase at a till:     python -m bot till --openid o_demo_li --amount 199
   Points pay at the till:   python -m bot till --pay-points 500 --openid o_demo_wang
   A walk-in and its QR:     python -m bot till --walk-in --amount 199 --txn W-1; python -m bot till --join-code W-1
   A key for one till:       REDIS_URL={settings.redis_url} python -m bot keys --demo add --scope till --store S01
   The scheduler's jobs:     REDIS_URL={settings.redis_url} python -m bot scheduler --demo list
   Ctrl-C stops everything.
  ───────────────────────────────────────────────────────────────"""
