"""/api/v1: the HTTP API for the mall's tills, CRM and staff (HMAC-signed JSON, see auth.py).

Each resource is a module with a `routes` table, each route marked with the scopes that reach it
(auth.reached_by); mounting one more is one line in API_MODULES.
Every error is JSON {"error": {"code", "message"}} (errors.py) and changes nothing.
"""
from __future__ import annotations

import time
from typing import Callable

from aiohttp import web

from . import (admin, campaigns, communities, coupons, deliveries, desk, events, metrics, points, purchases, refunds,
               sales, segments, staff, suggestions, surveys)
from .auth import CREDENTIALS, Credentials, hmac_auth
from .errors import OUTAGE, api_outage_log, json_errors

API_PREFIX = "/api/v1"
API_MODULES = (purchases, refunds, coupons, points, desk, admin, staff, deliveries, sales, communities, events,
               suggestions, surveys, segments, campaigns, metrics)


def setup_api(app: web.Application, pos_secret: str | None, admin_secret: str | None, *,
              wall_clock: Callable[[], float] = time.time) -> None:
    api = web.Application(middlewares=[json_errors, hmac_auth])
    api[CREDENTIALS] = Credentials(pos_secret, admin_secret, wall_clock)
    api[OUTAGE] = api_outage_log()
    for module in API_MODULES:
        api.add_routes(module.routes)
    app.add_subapp(API_PREFIX, api)
