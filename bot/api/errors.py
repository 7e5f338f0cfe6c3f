"""One error middleware for the API: domain errors, transport errors and bugs become JSON errors."""
from __future__ import annotations

import logging
import uuid

import orjson
from aiohttp import web

from loyalty_core.errors import DomainError

log = logging.getLogger("bot.api")


class ApiError(Exception):
    """A refusal at the transport level (authentication, body size) rather than of the business."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.Response(status=status, body=orjson.dumps({"error": {"code": code, "message": message}}),
                        content_type="application/json")


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error.status, error.code, error.message)
    except DomainError as error:
        return error_response(error.http_status, error.code, error.text)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_response(error.status, error.reason.lower().replace(" ", "_"), error.reason)
    except Exception:
        correlation = uuid.uuid4().hex[:12]
        log.exception("API request failed: correlation=%s route=%s", correlation, _route(request))
        return error_response(500, "internal_error", f"internal error (correlation {correlation})")


def _route(request: web.Request) -> str:
    """The route's pattern rather than the path: a path may hold a coupon code, which grants value."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def json_answer(answer: dict) -> web.Response:
    return web.Response(body=orjson.dumps(answer), content_type="application/json")
