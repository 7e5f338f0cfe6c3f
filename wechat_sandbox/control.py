"""The sandbox's control API: JSON under /sandbox/, for tests, benchmarks and the chat page.

State and time
  GET    /sandbox/state                         settings, clock, counts of members/calls/deliveries
  POST   /sandbox/reset                         forget everything (members, tokens, faults, clock offset)
  GET    /sandbox/clock                         {"now", "offset", "local"} (sandbox time = real time + offset)
  POST   /sandbox/clock      {"advance": s} | {"offset": s}      move the sandbox clock
  PUT    /sandbox/settings   {"quotas", "bot_callback_url", "callback_timeout", "job_delay"} (any subset)
                             quotas=false lifts customer-service windows, mass and daily limits
  POST   /sandbox/settle                        wait for pending background callbacks (job finish events)

Faults (per API endpoint name such as "message/custom/send", or "*" for every endpoint)
  GET    /sandbox/faults
  POST   /sandbox/faults     {"endpoint", "latency_ms", "busy_rate", "busy_next", "drop_rate", "drop_next",
                              "token_storm", "http_error_next", "errcode", "errcode_next", "seed"}
                             busy -> errcode -1; drop -> socket closed unanswered; token_storm N -> the next
                             N calls with a token issued before now answer 40001; http_error -> HTTP 503;
                             errcode + errcode_next N -> the next N calls answer that errcode
  DELETE /sandbox/faults[?endpoint=…]
  PUT    /sandbox/daily-limits {"endpoint", "limit"}   calls a day before 45009 (null: unlimited)

Account data
  GET    /sandbox/templates ; POST /sandbox/templates {"template_id", "title", "kind": "template"|"subscribe",
                                                           "keywords"?: {field: label}}
  GET    /sandbox/menu                          the menu the bot created (or null)
  GET    /sandbox/qrcodes                       QR codes the bot created (to scan from the chat page)
  GET    /sandbox/media/{media_id}              the bytes of uploaded media

Members (personas) and their actions; each action returns the bot's passive reply once it arrives:
  {"outcome": "replied"|"no_reply"|"failed"|"no_bot"|…, "msg_id", "attempts", "reply", "error", "tries"}
  GET    /sandbox/members?limit=                 ; GET /sandbox/members/{openid}
  POST   /sandbox/members    {"openid"?, "nickname"?, "phone"?, "follow": false, "notify": true}
                             follow with notify=false makes a silent follower (no callback, no window)
  POST   /sandbox/members/bulk {"count", "prefix"?}    silent followers, for load tests -> {"openids"}
  POST   /sandbox/members/{openid}/follow   {"ticket"? | "scene"?}     subscribe (qrscene_…) or SCAN
  POST   /sandbox/members/{openid}/unfollow
  POST   /sandbox/members/{openid}/text     {"content"}
  POST   /sandbox/members/{openid}/click    {"key"}
  POST   /sandbox/members/{openid}/view     {"url"}
  POST   /sandbox/members/{openid}/scan     {"ticket"? | "scene"?}
  POST   /sandbox/members/{openid}/consent  {"template_ids": [...], "accept": true}
  GET    /sandbox/members/{openid}/messages?after=&channel=    the conversation, both directions

Records
  GET    /sandbox/messages?channel=&after=&limit=     deliveries to all members (passive, custom, template,
                                                     subscribe, mass)
  GET    /sandbox/calls?endpoint=&after=&limit=       recorded API calls: errcode, openid, detail, and the
                                                     serial number of the token used (1 = first issued)
  GET    /sandbox/stats                               {"calls": {endpoint: {errcode: n}}, "delivered": {…},
                                                     "peak_in_flight": {endpoint: most calls answered at once}}
  GET    /sandbox/callbacks?event=&msgtype=&after=    callbacks sent to the bot, with tries and outcome
  POST   /sandbox/sms        {"phone", "text"}        the bot's development SMS sender delivers here
  GET    /sandbox/sms?phone=&after=

Errors: {"error": "…"} with 400 (bad request, refused action) or 404 (unknown member or media).
"""
from __future__ import annotations

import itertools
import re
from typing import Any

import orjson
from aiohttp import web

from .api import SANDBOX_KEY
from .core import Sandbox
from .faults import Fault
from .members import ActionRefused, MemberActions
from .state import new_openid

ACTIONS_KEY = web.AppKey("member_actions", MemberActions)
CHANNELS = {"member", "passive", "custom", "template", "subscribe", "mass", "system"}
DEFAULT_PAGE = 500
routes = web.RouteTableDef()


class BadRequest(Exception):
    pass


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


@web.middleware
async def control_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except (BadRequest, ActionRefused) as problem:
        if request.path.startswith("/sandbox/"):
            return _json({"error": str(problem)}, 400)
        raise


async def _body(request: web.Request) -> dict:
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise BadRequest("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _sandbox(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


def _page(request: web.Request) -> tuple[int, int]:
    try:
        return int(request.query.get("after", 0)), int(request.query.get("limit", DEFAULT_PAGE))
    except ValueError:
        raise BadRequest("after and limit must be integers") from None


def _after(entries, after: int, limit: int, keep=lambda e: True) -> list:
    """Entries with seq > after (entries are in seq order), filtered, at most `limit`."""
    found = []
    for entry in reversed(entries):
        if entry["seq"] <= after:
            break
        if keep(entry):
            found.append(entry)
    found.reverse()
    return found[:limit]


# -- state and time --------------------------------------------------------------------------------
@routes.get("/sandbox/state")
async def state(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    account = sandbox.account
    return _json({"settings": sandbox.settings.view(), "clock": _clock(sandbox), "appid": sandbox.config.appid,
                  "account_name": sandbox.config.account_name, "original_id": sandbox.config.original_id,
                  "safe_mode": sandbox.config.aes_key is not None, "members": len(account.members),
                  "followers": len(account.followers), "delivered": dict(account.delivered),
                  "calls": sum(account.call_counts.values())})


@routes.post("/sandbox/reset")
async def reset(request: web.Request) -> web.Response:
    _sandbox(request).reset()
    return _json({"ok": True})


def _clock(sandbox: Sandbox) -> dict:
    return {"now": sandbox.now(), "offset": sandbox.clock.offset, "local": sandbox.clock.local().isoformat()}


@routes.get("/sandbox/clock")
async def get_clock(request: web.Request) -> web.Response:
    return _json(_clock(_sandbox(request)))


@routes.post("/sandbox/clock")
async def move_clock(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    if isinstance(body.get("advance"), (int, float)):
        sandbox.clock.advance(body["advance"])
    elif isinstance(body.get("offset"), (int, float)):
        sandbox.clock.offset = float(body["offset"])
    else:
        raise BadRequest('give {"advance": seconds} or {"offset": seconds}')
    return _json(_clock(sandbox))


@routes.put("/sandbox/settings")
async def put_settings(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    settings = sandbox.settings
    if "quotas" in body:
        settings.quotas = bool(body["quotas"])
    if "bot_callback_url" in body:
        settings.bot_callback_url = body["bot_callback_url"] or None
    for name in ("callback_timeout", "job_delay"):
        if name in body:
            if not isinstance(body[name], (int, float)) or body[name] < 0:
                raise BadRequest(f"{name} must be a number of seconds")
            setattr(settings, name, float(body[name]))
    return _json(settings.view())


@routes.post("/sandbox/settle")
async def settle(request: web.Request) -> web.Response:
    return _json({"settled": await _sandbox(request).settle()})


# -- faults ------------------------------------------------------------------------------------------
@routes.get("/sandbox/faults")
async def get_faults(request: web.Request) -> web.Response:
    return _json(_sandbox(request).faults.view())


@routes.post("/sandbox/faults")
async def set_fault(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    endpoint = body.pop("endpoint", None)
    if not isinstance(endpoint, str) or not endpoint:
        raise BadRequest('give "endpoint": an API name such as "message/custom/send", or "*"')
    if "seed" in body:
        sandbox.faults.reseed(body.pop("seed"))
    try:
        fault = Fault.from_json(body, sandbox.account.tokens.latest_serial)
    except (TypeError, ValueError) as problem:
        raise BadRequest(str(problem)) from None
    sandbox.faults.set(endpoint, fault)
    return _json(sandbox.faults.view())


@routes.delete("/sandbox/faults")
async def clear_faults(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    sandbox.faults.clear(request.query.get("endpoint"))
    return _json(sandbox.faults.view())


@routes.put("/sandbox/daily-limits")
async def put_daily_limit(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    endpoint, limit = body.get("endpoint"), body.get("limit")
    if not isinstance(endpoint, str) or not (limit is None or isinstance(limit, int)):
        raise BadRequest('give {"endpoint": name, "limit": calls a day or null}')
    if limit is None:
        sandbox.daily_limits.pop(endpoint, None)
    else:
        sandbox.daily_limits[endpoint] = limit
    return _json(sandbox.daily_limits)


# -- account data -----------------------------------------------------------------------------------
@routes.get("/sandbox/templates")
async def get_templates(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    return _json({"template": sandbox.templates, "subscribe": sandbox.subscribe_templates,
                  "keywords": sandbox.keywords})


@routes.post("/sandbox/templates")
async def add_template(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    book = {"template": sandbox.templates, "subscribe": sandbox.subscribe_templates}.get(body.get("kind", "template"))
    keywords = body.get("keywords") or {}
    if book is None or not body.get("template_id") or not body.get("title") or not isinstance(keywords, dict):
        raise BadRequest('give {"template_id", "title", "kind": "template"|"subscribe", "keywords"?: {field: label}}')
    template_id = str(body["template_id"])
    book[template_id] = str(body["title"])
    sandbox.keywords[template_id] = {str(field): str(label) for field, label in keywords.items()}
    return await get_templates(request)


@routes.get("/sandbox/menu")
async def get_menu(request: web.Request) -> web.Response:
    menu = _sandbox(request).account.menu
    return _json({"button": menu} if menu is not None else None)


@routes.get("/sandbox/qrcodes")
async def get_qrcodes(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    now = sandbox.now()
    return _json([{**q.view(), "expired": q.expired(now)} for q in sandbox.account.qrcodes.values()])


@routes.get("/sandbox/media/{media_id}")
async def get_media(request: web.Request) -> web.Response:
    media = _sandbox(request).account.media.get(request.match_info["media_id"])
    if media is None:
        return _json({"error": "no such media"}, 404)
    return web.Response(body=media.data, content_type=media.content_type or "application/octet-stream")


# -- members ---------------------------------------------------------------------------------------------
@routes.get("/sandbox/members")
async def list_members(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    _, limit = _page(request)
    newest = list(itertools.islice(reversed(sandbox.account.members.values()), limit))
    return _json([m.summary(sandbox.now()) for m in reversed(newest)])


@routes.post("/sandbox/members")
async def add_member(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    openid = body.get("openid") or None
    if openid is not None and not re.fullmatch(r"[A-Za-z0-9_-]{6,64}", str(openid)):
        raise BadRequest("openid: 6-64 letters, digits, - or _")
    member = sandbox.account.add_member(openid, str(body.get("nickname") or ""), str(body.get("phone") or ""))
    result = None
    if body.get("follow") and not member.subscribed:
        if body.get("notify", True):
            result = (await request.app[ACTIONS_KEY].follow(member.openid)).view()
        else:
            sandbox.account.set_following(member, True, sandbox.now(), "ADD_SCENE_OTHERS")
    return _json({**member.summary(sandbox.now()), "callback": result})


@routes.post("/sandbox/members/bulk")
async def add_members(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    count = body.get("count")
    if not isinstance(count, int) or not 1 <= count <= 1_000_000:
        raise BadRequest("count: 1 to 1,000,000")
    prefix = str(body.get("prefix") or "")
    account, now = sandbox.account, sandbox.now()
    openids = []
    for n in range(count):
        member = account.add_member(f"{prefix}{n:08d}" if prefix else new_openid())
        account.set_following(member, True, now, "ADD_SCENE_OTHERS")
        openids.append(member.openid)
    return _json({"openids": openids})


def _member_of(request: web.Request):
    sandbox = _sandbox(request)
    member = sandbox.account.members.get(request.match_info["openid"])
    if member is None:
        raise web.HTTPNotFound(body=orjson.dumps({"error": "no such member"}), content_type="application/json")
    return sandbox, member


@routes.get("/sandbox/members/{openid}")
async def get_member(request: web.Request) -> web.Response:
    sandbox, member = _member_of(request)
    return _json(member.summary(sandbox.now()))


@routes.get("/sandbox/members/{openid}/messages")
async def member_messages(request: web.Request) -> web.Response:
    _, member = _member_of(request)
    after, limit = _page(request)
    channel = request.query.get("channel")
    return _json(_after(member.conversation, after, limit, lambda e: channel in (None, e["channel"])))


@routes.post("/sandbox/members/{openid}/{action}")
async def member_action(request: web.Request) -> web.Response:
    _member_of(request)
    openid, action = request.match_info["openid"], request.match_info["action"]
    body = await _body(request)
    actions = request.app[ACTIONS_KEY]
    if action == "follow":
        outcome = await actions.follow(openid, ticket=_str(body, "ticket"), scene=_str(body, "scene"))
    elif action == "unfollow":
        outcome = await actions.unfollow(openid)
    elif action == "text":
        outcome = await actions.text(openid, _required(body, "content"))
    elif action == "click":
        outcome = await actions.click(openid, _required(body, "key"))
    elif action == "view":
        outcome = await actions.view(openid, _required(body, "url"))
    elif action == "scan":
        if not (body.get("ticket") or body.get("scene")):
            raise BadRequest('give "ticket" or "scene"')
        outcome = await actions.scan(openid, ticket=_str(body, "ticket"), scene=_str(body, "scene"))
    elif action == "consent":
        template_ids = body.get("template_ids")
        if not isinstance(template_ids, list):
            raise BadRequest('give "template_ids": [...] and "accept": true|false')
        outcome = await actions.consent(openid, [str(t) for t in template_ids], body.get("accept", True) is True)
    else:
        raise web.HTTPNotFound()
    return _json(outcome.view())


def _str(body: dict, name: str) -> str:
    return str(body.get(name) or "")


def _required(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f'give "{name}"')
    return value


# -- records -----------------------------------------------------------------------------------------
@routes.get("/sandbox/messages")
async def all_messages(request: web.Request) -> web.Response:
    after, limit = _page(request)
    channel = request.query.get("channel")
    deliveries = _sandbox(request).account.deliveries
    start = _first_after(deliveries, after)
    found = [e for e in deliveries[start:] if channel in (None, e["channel"])][:limit]
    return _json(found)


def _first_after(entries: list[dict], after: int) -> int:
    low, high = 0, len(entries)
    while low < high:
        middle = (low + high) // 2
        if entries[middle]["seq"] <= after:
            low = middle + 1
        else:
            high = middle
    return low


@routes.get("/sandbox/calls")
async def calls(request: web.Request) -> web.Response:
    after, limit = _page(request)
    endpoint = request.query.get("endpoint")
    records = _sandbox(request).account.calls
    return _json(_after(records, after, limit, lambda c: endpoint in (None, c["endpoint"])))


@routes.get("/sandbox/stats")
async def stats(request: web.Request) -> web.Response:
    account = _sandbox(request).account
    by_endpoint: dict[str, dict[str, int]] = {}
    for (endpoint, errcode), count in account.call_counts.items():
        by_endpoint.setdefault(endpoint, {})["dropped" if errcode == -999 else str(errcode)] = count
    return _json({"calls": by_endpoint, "delivered": dict(account.delivered),
                  "peak_in_flight": dict(account.peak_in_flight)})


@routes.get("/sandbox/callbacks")
async def callbacks(request: web.Request) -> web.Response:
    after, limit = _page(request)
    event, msgtype = request.query.get("event"), request.query.get("msgtype")
    keep = lambda c: event in (None, c["event"]) and msgtype in (None, c["msgtype"])  # noqa: E731
    return _json(_after(_sandbox(request).account.callbacks, after, limit, keep))


@routes.post("/sandbox/sms")
async def receive_sms(request: web.Request) -> web.Response:
    sandbox, body = _sandbox(request), await _body(request)
    phone, text = body.get("phone"), body.get("text")
    if not isinstance(phone, str) or not _digits(phone) or not isinstance(text, str) or not text:
        raise BadRequest('give {"phone", "text"}')
    sms = {"seq": sandbox.account.ids.seq(), "at": sandbox.now(), "phone": phone, "text": text}
    sandbox.account.sms.append(sms)
    return _json(sms)


@routes.get("/sandbox/sms")
async def list_sms(request: web.Request) -> web.Response:
    after, limit = _page(request)
    wanted = _digits(request.query.get("phone", ""))
    keep = lambda s: not wanted or _digits(s["phone"]) == wanted  # noqa: E731
    return _json(_after(_sandbox(request).account.sms, after, limit, keep))


def _digits(phone: str) -> str:
    """The national number: '+86 138-0013-8000' and '13800138000' are the same phone."""
    digits = re.sub(r"\D", "", phone)
    return digits[-11:] if len(digits) > 11 and digits.startswith("86") else digits


def add_routes(app: web.Application, actions: MemberActions) -> None:
    app[ACTIONS_KEY] = actions
    app.router.add_routes(routes)
    app.middlewares.append(control_errors)

