"""The typed keys of the web application's state, in a module of their own so that the API modules, the
demo and the tests reach the process's services without importing the app factory (which imports them)."""
from __future__ import annotations

from aiohttp import web

from .dispatch import Dispatcher
from .gateway import WeChatGateway
from .services import Services
from .settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
GATEWAY = web.AppKey("gateway", WeChatGateway)
