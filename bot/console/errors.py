"""Errors on console pages: a page of their own with the status (403, 404, …), the domain's own message for
refusals, and never a stack trace in the browser."""
from __future__ import annotations

import logging

from aiohttp import web

from loyalty_core.errors import DomainError

from .render import page

log = logging.getLogger("bot.console")


@web.middleware
async def console_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return page(request, "error.html", status=error.status, status_code=error.status,
                    message=error.text if error.text and not error.text.startswith(str(error.status)) else
                    error.reason)
    except DomainError as error:
        return page(request, "error.html", status=error.http_status, status_code=error.http_status,
                    message=error.text)
