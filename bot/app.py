"""create_app(settings) -> the web process: /wechat, /healthz, /metrics and the till API."""
from __future__ import annotations

import contextlib
import logging
from typing import AsyncIterator

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from loyalty_core.clock import Clock, SystemClock
from loyalty_core.members import SmsSender
from loyalty_core.program import Program, load_program
from loyalty_core.redis_store.connection import connect

from .api import setup_api
from .api.errors import RETRY_AFTER_SECONDS
from .console import setup_console
from .app_keys import DISPATCHER, GATEWAY, SERVICES, SETTINGS
from .dispatch import DEFAULT_BUDGET, Dispatcher
from .events import background_work as running_in_background
from .gateway import WeChatGateway
from .handlers import build_router
from .links import follow_link
from .privacy_page import privacy_page
from .push_metrics import push_metrics
from .router import Router
from .services import Services, build_services
from .settings import Settings
from .sms import LogSmsSender, SandboxSmsSender
from .templating import Templates
from .wechat_api import WeChatApi
from .wechat_crypto import SafeModeCrypto

log = logging.getLogger("bot.app")

def create_app(settings: Settings, *, clock: Clock | None = None, router: Router | None = None,
               sms: SmsSender | None = None, budget: float = DEFAULT_BUDGET,
               background: bool = False) -> web.Application:
    """`background`: also run the event consumers and the housekeeping loops in this process (`serve
    --consumers`, for the simplest deployment; by default they run in `python -m bot consumers`, and tests
    drive them step by step)."""
    if not settings.redis_url:
        raise ValueError("create_app needs settings.redis_url (the CLI starts an embedded Redis when unset)")
    program = load_program(settings.program_file)   # a bad program file stops the start, naming the key
    app = web.Application()
    app[SETTINGS] = settings

    async def resources(app: web.Application):
        async with connected_services(settings, program, clock=clock, sms=sms) as services:
            dispatcher = Dispatcher(router or build_router(), services,
                                    Templates(privacy_url=f"{settings.public_base_url}/privacy"), sender=services.wechat,
                                    budget=budget)
            crypto = (SafeModeCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
                      if settings.safe_mode else None)
            app[SERVICES], app[DISPATCHER] = services, dispatcher
            app[GATEWAY] = WeChatGateway(settings.wechat_token, dispatcher, crypto,
                                         accept_plaintext=not settings.safe_mode or settings.allow_plaintext)
            yield
            await dispatcher.drain()

    app.cleanup_ctx.append(resources)
    if background:
        app.cleanup_ctx.append(background_work)
    setup_api(app, settings.pos_api_secret, settings.admin_api_secret)
    setup_console(app)
    app.router.add_get("/wechat", wechat_verify)
    app.router.add_post("/wechat", wechat_receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/r/{token}", follow_link)
    app.router.add_get("/privacy", privacy_page)
    return app


@contextlib.asynccontextmanager
async def connected_services(settings: Settings, program: Program, *, clock: Clock | None = None,
                             sms: SmsSender | None = None) -> AsyncIterator[Services]:
    """The services over a Redis connection pool and a WeChat API client, closed when the block ends: what
    the web process and the consumers process run on."""
    redis = connect(settings.redis_url, max_connections=512)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10),
                                    connector=aiohttp.TCPConnector(limit=512))
    try:
        wechat = WeChatApi(session, redis, settings.wechat_appid, settings.wechat_appsecret, settings.wechat_api_base)
        yield build_services(redis, clock or SystemClock(), settings.pii_key_bytes,
                             sms or _sms_sender(settings, session), wechat=wechat, program=program,
                             push_partitions=settings.push_partitions, public_base_url=settings.public_base_url)
    finally:
        await session.close()
        await redis.aclose()


def _sms_sender(settings: Settings, session: aiohttp.ClientSession) -> SmsSender:
    if settings.sms_provider == "sandbox":
        return SandboxSmsSender(session, settings.wechat_api_base)
    return LogSmsSender()


async def background_work(app: web.Application):
    async with running_in_background(app[SERVICES]):
        yield


async def wechat_verify(request: web.Request) -> web.Response:
    return await request.app[GATEWAY].verify(request)


async def wechat_receive(request: web.Request) -> web.Response:
    return await request.app[GATEWAY].receive(request)


async def healthz(request: web.Request) -> web.Response:
    """Redis answers a PING (within the client's command timeout: a Redis that hangs is unhealthy too)."""
    try:
        await request.app[SERVICES].redis.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return web.json_response({"status": "unavailable", "redis": type(exc).__name__}, status=503,
                                 headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    pushes = await push_metrics(request.app[SERVICES].push_queue)
    return web.Response(body=generate_latest() + pushes, headers={"Content-Type": CONTENT_TYPE_LATEST})
