"""One error middleware for the API: domain errors, transport errors, an unavailable Redis and bugs become
JSON errors."""
from __future__ import annotations

import logging
import uuid

import orjson
from aiohttp import web

from loyalty_core.errors import DomainError
from loyalty_core.redis_store.connection import UNAVAILABLE, OutageLog

log = logging.getLogger("bot.api")
RETRY_AFTER_SECONDS = 5
OUTAGE = web.AppKey("api_outage", OutageLog)


def api_outage_log() -> OutageLog:
    return OutageLog(log, "till and admin API")


class ApiError(Exception):
    """A refusal at the transport level (authentication, body size) rather than of the business."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps({"error": {"code": code, "message": message}}),
                        content_type="application/json", headers=headers)


def unavailable() -> web.Response:
    """Redis cannot be reached or does not answer in time: whatever was done is idempotent, so the same request
    again, once Redis is back, is answered once."""
    return error_response(503, "unavailable", "the member database is unavailable for a moment: send the same "
                          f"request again in {RETRY_AFTER_SECONDS} seconds (it is carried out once)",
                          {"Retry-After": str(RETRY_AFTER_SECONDS)})


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    outage = request.app[OUTAGE]
    try:
        response = await handler(request)
    except UNAVAILABLE as error:
        outage.failed(error)
        return unavailable()
    except ApiError as error:
        response = error_response(error.status, error.code, error.message)
    except DomainError as error:
        response = error_response(error.http_status, error.code, error.text)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        response = error_response(error.status, error.reason.lower().replace(" ", "_"), error.reason)
    except Exception:
        correlation = uuid.uuid4().hex[:12]
        log.exception("API request failed: correlation=%s route=%s", correlation, _route(request))
        return error_response(500, "internal_error", f"internal error (correlation {correlation})")
    outage.succeeded()
    return response


def _route(request: web.Request) -> str:
    """The route's pattern rather than the path: a path may hold a coupon code, which grants value."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def json_answer(answer: dict) -> web.Response:
    return web.Response(body=orjson.dumps(answer), content_type="application/json")
