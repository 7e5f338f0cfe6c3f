"""create_sandbox_app(config) -> the sandbox as an aiohttp Application: API, control API, chat page."""
from __future__ import annotations

import time
from pathlib import Path

import aiohttp
from aiohttp import web

from . import api, control
from .callbacks import CallbackSender
from .config import SandboxConfig
from .core import Sandbox
from .members import MemberActions

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_UPLOAD_BYTES = 20 << 20


def create_sandbox_app(config: SandboxConfig | None = None, *, wall=time.time) -> web.Application:
    config = config or SandboxConfig()
    sandbox = Sandbox(config, wall)
    callbacks = CallbackSender(sandbox)
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    app[api.SANDBOX_KEY] = sandbox
    app[api.CALLBACKS_KEY] = callbacks
    app.cleanup_ctx.append(_callback_session)
    api.add_routes(app.router)
    control.add_routes(app, MemberActions(sandbox, callbacks))
    app.router.add_get("/", _chat_page)
    app.router.add_static("/static/", STATIC_DIR)
    return app


async def _callback_session(app: web.Application):
    sandbox = app[api.SANDBOX_KEY]
    sandbox.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    yield
    await sandbox.close()
    await sandbox.session.close()


async def _chat_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")
