"""The platform's API under /cgi-bin/, with the real paths, bodies, errcodes and quotas.

Each endpoint is a plain async function `(sandbox, call) -> dict`; `_endpoint` wraps it with what every
call goes through: injected faults, the access_token check, the daily call quota, the JSON answer and
the record the control API shows.
"""
from __future__ import annotations

import asyncio
import io
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import orjson
import segno
from aiohttp import web

from . import rules
from .callbacks import CallbackSender
from .core import Sandbox
from .errors import ApiError
from .faults import Fault
from .notices import service_notice
from .state import Media, Member, QrCode, Tag, new_ticket

SANDBOX_KEY = web.AppKey("sandbox", Sandbox)
CALLBACKS_KEY = web.AppKey("callbacks", CallbackSender)
TEMP_QR_DEFAULT_SECONDS, TEMP_QR_MAX_SECONDS = 60, 2_592_000
PERMANENT_QR_LIMIT = 100_000
MEDIA_LIFETIME_SECONDS = 3 * 86400
MEDIA_LIMITS = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "thumb": 64 << 10}
IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif",
                    b"BM": "image/bmp"}
TAGS_PER_ACCOUNT, TAGS_PER_MEMBER, TAGGING_BATCH = 100, 20, 50
SYSTEM_TAG_IDS = {0, 1, 2}
TAG_PAGE = 10_000
JSON = "application/json"
GATEWAY_ERROR_PAGE = "<html><head><title>503 Service Temporarily Unavailable</title></head></html>"


@dataclass
class Call:
    request: web.Request
    endpoint: str
    openid: str = ""
    detail: dict = field(default_factory=dict)
    token_serial: int = 0

    async def body(self) -> dict:
        raw = await self.request.read()
        if not raw.strip():
            raise ApiError(44002)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError(47001) from None
        if not isinstance(body, dict):
            raise ApiError(47001)
        return body

    @property
    def query(self):
        return self.request.query


Handler = Callable[[Sandbox, Call], Awaitable["dict | web.StreamResponse"]]


def _endpoint(name: str, handler: Handler, *, needs_token: bool = True):
    async def handle(request: web.Request) -> web.StreamResponse:
        sandbox = request.app[SANDBOX_KEY]
        with sandbox.in_flight(name):
            return await _answer(sandbox, Call(request, name), handler, needs_token)
    return handle


async def _answer(sandbox: Sandbox, call: Call, handler: Handler, needs_token: bool) -> web.StreamResponse:
    started = time.monotonic()
    fault = sandbox.faults.for_endpoint(call.endpoint)
    if fault is not None:
        await _disrupt(sandbox, call, fault, started)
        if sandbox.faults.http_error(fault):
            sandbox.record_call(call.endpoint, 503, "HTTP 503", started)
            return web.Response(status=503, text=GATEWAY_ERROR_PAGE, content_type="text/html")
    try:
        if fault is not None:
            _injected_errcode(sandbox, fault)
        if needs_token:
            call.token_serial = sandbox.authorise(call.query.get("access_token"), call.endpoint, fault)
        result = await handler(sandbox, call)
    except ApiError as error:
        result = error.body()
    if isinstance(result, web.StreamResponse):
        sandbox.record_call(call.endpoint, 0 if result.status == 200 else result.status, "", started,
                            detail=call.detail)
        return result
    sandbox.record_call(call.endpoint, result.get("errcode", 0), result.get("errmsg", "ok"), started,
                        openid=call.openid, detail=call.detail, token_serial=call.token_serial)
    return web.Response(body=orjson.dumps(result), content_type=JSON)


async def _disrupt(sandbox: Sandbox, call: Call, fault: Fault, started: float) -> None:
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if sandbox.faults.drops(fault):
        sandbox.record_call(call.endpoint, None, "connection dropped", started)
        call.request.transport.close()
        raise asyncio.CancelledError  # aiohttp ends the request quietly: the client sees a disconnect


def _injected_errcode(sandbox: Sandbox, fault: Fault) -> None:
    if sandbox.faults.busy(fault):
        raise ApiError(-1)
    forced = sandbox.faults.forced_errcode(fault)
    if forced:
        raise ApiError(forced)


OK = {"errcode": 0, "errmsg": "ok"}


# -- access tokens -----------------------------------------------------------------------------------
async def stable_token(sandbox: Sandbox, call: Call) -> dict:
    body = await call.body()
    force = body.get("force_refresh") is True
    call.detail = {"force_refresh": force}
    _check_credentials(sandbox, body)
    sandbox.count_daily_call("stable_token")
    token, expires_in = sandbox.account.tokens.stable(sandbox.now(), force=force, day_of=sandbox.clock.day)
    return {"access_token": token, "expires_in": expires_in}


async def classic_token(sandbox: Sandbox, call: Call) -> dict:
    """GET /cgi-bin/token?grant_type=client_credential&appid&secret: what most SDKs call by default."""
    _check_credentials(sandbox, call.query)
    sandbox.count_daily_call("token")
    token, expires_in = sandbox.account.tokens.classic(sandbox.now())
    return {"access_token": token, "expires_in": expires_in}


def _check_credentials(sandbox: Sandbox, given) -> None:
    if given.get("grant_type") != "client_credential":
        raise ApiError(40002)
    if not given.get("appid"):
        raise ApiError(41002)
    if given["appid"] != sandbox.config.appid:
        raise ApiError(40013)
    if not given.get("secret"):
        raise ApiError(41004)
    if given["secret"] != sandbox.config.appsecret:
        raise ApiError(40125)


# -- messages --------------------------------------------------------------------------------------
MESSAGE_TYPES = {"text", "image", "voice", "video", "music", "news", "mpnews", "mpnewsarticle", "msgmenu",
                 "wxcard", "miniprogrampage"}
MASS_TYPES = {"text", "image", "voice", "mpnews", "mpvideo", "wxcard"}


def _message_of(sandbox: Sandbox, body: dict, allowed: set[str]) -> dict:
    msgtype = body.get("msgtype")
    if msgtype not in allowed or not isinstance(body.get(msgtype), dict):
        raise ApiError(40008)
    content = body[msgtype]
    if msgtype == "text" and not str(content.get("content") or "").strip():
        raise ApiError(44004)
    if msgtype == "image":
        _media(sandbox, content.get("media_id"))
    return {"msgtype": msgtype, msgtype: content}


def _media(sandbox: Sandbox, media_id) -> Media:
    media = sandbox.account.media.get(media_id or "")
    if media is None or sandbox.now() - media.created_at > MEDIA_LIFETIME_SECONDS:
        raise ApiError(40007)
    return media


async def custom_send(sandbox: Sandbox, call: Call) -> dict:
    body = await call.body()
    call.openid = str(body.get("touser") or "")
    member = sandbox.account.follower(call.openid)
    message = _message_of(sandbox, body, MESSAGE_TYPES)
    call.detail = {"msgtype": message["msgtype"]}
    if sandbox.settings.quotas:
        refusal = member.window.refusal(sandbox.now()) if member.window else 45015
        if refusal:
            raise ApiError(refusal)
        member.window.used += 1
    sandbox.deliver(member, "custom", message)
    return OK


def _check_template(body: dict, templates) -> str:
    """A template or subscribe message needs a known template id (else 40037) and a data object."""
    if body.get("template_id") not in templates:
        raise ApiError(40037)
    if not isinstance(body.get("data"), dict):
        raise ApiError(47001)
    return body["template_id"]


async def template_send(sandbox: Sandbox, call: Call) -> dict:
    body = await call.body()
    call.openid = str(body.get("touser") or "")
    member = sandbox.account.follower(call.openid)
    _check_template(body, sandbox.templates)
    msgid = sandbox.account.ids.template_msgid()
    sandbox.deliver(member, "template", _card(sandbox, sandbox.templates, body, msgid))
    callbacks = call.request.app[CALLBACKS_KEY]
    fields = {"ToUserName": sandbox.config.original_id, "FromUserName": member.openid,
              "CreateTime": int(sandbox.now()), "MsgType": "event", "Event": "TEMPLATESENDJOBFINISH",
              "MsgID": msgid, "Status": "success"}
    sandbox.spawn(lambda: callbacks.send(fields), sandbox.settings.job_delay)
    return {**OK, "msgid": msgid}


async def subscribe_send(sandbox: Sandbox, call: Call) -> dict:
    body = await call.body()
    call.openid = str(body.get("touser") or "")
    member = sandbox.account.member(call.openid)
    template_id = _check_template(body, sandbox.subscribe_templates)
    if member.consents.get(template_id, 0) < 1:
        raise ApiError(43101)
    member.consents[template_id] -= 1
    sandbox.deliver(member, "subscribe", _card(sandbox, sandbox.subscribe_templates, body, None))
    return OK


def _card(sandbox: Sandbox, titles: dict[str, str], body: dict, msgid: int | None) -> dict:
    """The message as sent, and as the member's WeChat shows it (`notice`)."""
    template_id = body["template_id"]
    card = {"template_id": template_id, "title": titles[template_id], "data": body["data"]}
    links = {link: body[link] for link in ("url", "page", "miniprogram") if body.get(link)}
    notice = service_notice(card["title"], card["data"], sandbox.keywords.get(template_id, {}), linked=bool(links))
    return {"msgtype": "template", "template": {**card, **links}, "notice": notice,
            **({"msgid": msgid} if msgid else {})}


# -- mass send -------------------------------------------------------------------------------------
async def mass_sendall(sandbox: Sandbox, call: Call) -> dict:
    body = await call.body()
    rule = body.get("filter")
    if not isinstance(rule, dict):
        raise ApiError(47001)
    account = sandbox.account
    if rule.get("is_to_all") is True:
        # The docs let tag_id be left out here; some developers report 40152 without one (even "" passes).
        # The sandbox follows the docs. Anything else in the filter, such as wechatpy's "group_id", is ignored.
        targets = list(account.followers)
    else:
        # A send to a tag reads tag_id only. Groups became tags in 2016, and a filter that still names a
        # "group_id" instead (wechatpy's send_mass_* write one) is answered 40152, as the platform does.
        if "tag_id" not in rule:
            raise ApiError(40152)
        tag = account.tags.get(_int(rule["tag_id"]))
        if tag is None:
            raise ApiError(40050)
        targets = list(tag.members)
    call.detail = {"to": "all" if rule.get("is_to_all") is True else f"tag:{rule.get('tag_id')}"}
    return await _mass(sandbox, call, body, targets)


async def mass_send(sandbox: Sandbox, call: Call) -> dict:
    body = await call.body()
    touser = body.get("touser")
    if not isinstance(touser, list) or len(touser) < rules.MASS_OPENIDS_MIN:
        raise ApiError(40130)
    if len(touser) > rules.MASS_OPENIDS_MAX:
        raise ApiError(40032)
    call.detail = {"to": f"{len(touser)} openids"}
    return await _mass(sandbox, call, body, list(dict.fromkeys(str(o) for o in touser)))


async def _mass(sandbox: Sandbox, call: Call, body: dict, targets: list[str]) -> dict:
    account, now = sandbox.account, sandbox.now()
    client_msg_id = str(body.get("clientmsgid") or "")
    if len(client_msg_id.encode()) > rules.CLIENTMSGID_MAX_BYTES:
        raise ApiError(45067)
    if client_msg_id:
        earlier = account.client_msg_ids.get(client_msg_id)
        if earlier and now - earlier[1] < rules.CLIENTMSGID_MEMORY_SECONDS:
            raise ApiError(45065, msg_id=earlier[0])
    message = _message_of(sandbox, body, MASS_TYPES)
    if sandbox.settings.quotas:
        _count_mass_call(account.mass_calls, now)
    msg_id, msg_data_id = account.ids.mass_id()
    if client_msg_id:
        account.client_msg_ids[client_msg_id] = (msg_id, now)
    reached = _deliver_mass(sandbox, targets, message, msg_id)
    call.detail.update(msgtype=message["msgtype"], msg_id=msg_id, total=len(targets), sent=reached)
    fields = {"ToUserName": sandbox.config.original_id, "FromUserName": "mphelper", "CreateTime": int(now),
              "MsgType": "event", "Event": "MASSSENDJOBFINISH", "MsgID": msg_id, "Status": "send success",
              "TotalCount": len(targets), "FilterCount": reached, "SentCount": reached, "ErrorCount": 0}
    callbacks = call.request.app[CALLBACKS_KEY]
    sandbox.spawn(lambda: callbacks.send(fields), sandbox.settings.job_delay)
    answer = {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id}
    return {**answer, "msg_data_id": msg_data_id} if message["msgtype"] == "mpnews" else answer


def _count_mass_call(calls, now: float) -> None:
    while calls and calls[0] <= now - 60:
        calls.popleft()
    if len(calls) >= rules.MASS_CALLS_PER_MINUTE:
        raise ApiError(45011)
    calls.append(now)


def _deliver_mass(sandbox: Sandbox, targets: list[str], message: dict, msg_id: int) -> int:
    """Delivers to each follower still under 4 mass messages this calendar month; returns how many."""
    month, reached = sandbox.clock.month(), 0
    members, quotas = sandbox.account.members, sandbox.settings.quotas
    for openid in targets:
        member = members.get(openid)
        if member is None or not member.subscribed:
            continue
        if member.mass_month != month:
            member.mass_month, member.mass_count = month, 0
        if quotas and member.mass_count >= rules.MASS_PER_MEMBER_PER_MONTH:
            continue
        member.mass_count += 1
        sandbox.deliver(member, "mass", {**message, "msg_id": msg_id})
        reached += 1
    return reached


# -- QR codes --------------------------------------------------------------------------------------
QR_ACTIONS = {"QR_SCENE": False, "QR_STR_SCENE": False, "QR_LIMIT_SCENE": True, "QR_LIMIT_STR_SCENE": True}


async def qrcode_create(sandbox: Sandbox, call: Call) -> dict:
    body = await call.body()
    action = body.get("action_name")
    if action not in QR_ACTIONS:
        raise ApiError(40052)
    permanent = QR_ACTIONS[action]
    scene = _scene_of(action, body.get("action_info"))
    account, now = sandbox.account, sandbox.now()
    if permanent and account.permanent_qrcodes >= PERMANENT_QR_LIMIT:
        raise ApiError(45029)
    seconds = None if permanent else _qr_lifetime(body.get("expire_seconds"))
    ticket = new_ticket()
    url = f"http://weixin.qq.com/q/{secrets.token_urlsafe(18)}"
    account.qrcodes[ticket] = QrCode(ticket, url, action, scene, now, None if permanent else now + seconds)
    account.permanent_qrcodes += permanent
    call.detail = {"action_name": action, "scene": scene}
    return {"ticket": ticket, "url": url} if permanent else {"ticket": ticket, "expire_seconds": seconds, "url": url}


def _scene_of(action: str, info) -> str:
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict):
        raise ApiError(40053)
    if action.endswith("STR_SCENE"):
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 1 <= len(value) <= 64:
            raise ApiError(40053)
        return value
    value = scene.get("scene_id")
    top = PERMANENT_QR_LIMIT if action == "QR_LIMIT_SCENE" else 2**32 - 1
    if not isinstance(value, int) or not 1 <= value <= top:
        raise ApiError(40053)
    return str(value)


def _qr_lifetime(raw) -> int:
    if raw is None:
        return TEMP_QR_DEFAULT_SECONDS
    if not isinstance(raw, int) or raw <= 0:
        raise ApiError(40097)
    return min(raw, TEMP_QR_MAX_SECONDS)  # the platform caps longer lifetimes at 30 days


async def showqrcode(sandbox: Sandbox, call: Call) -> web.StreamResponse:
    qrcode = sandbox.account.qrcodes.get(call.query.get("ticket", ""))
    if qrcode is None or qrcode.expired(sandbox.now()):
        return web.Response(status=404, body=orjson.dumps({"errcode": 40097, "errmsg": "invalid args: ticket"}),
                            content_type=JSON)
    png = io.BytesIO()
    segno.make(qrcode.url, error="m").save(png, kind="png", scale=6, border=2)
    return web.Response(body=png.getvalue(), content_type="image/png")


# -- media -----------------------------------------------------------------------------------------
async def media_upload(sandbox: Sandbox, call: Call) -> dict:
    kind = call.query.get("type", "")
    if kind not in MEDIA_LIMITS:
        raise ApiError(40004)
    if not call.request.content_type.startswith("multipart/"):
        raise ApiError(41005, "media data missing")
    filename, content_type, data = await _multipart_media(call.request)
    if len(data) > MEDIA_LIMITS[kind]:
        raise ApiError(40006)
    if kind in ("image", "thumb"):
        content_type = next((t for sig, t in IMAGE_SIGNATURES.items() if data.startswith(sig)), "")
        if not content_type:
            raise ApiError(40005)
    now = sandbox.now()
    media_id = secrets.token_urlsafe(48)
    sandbox.account.media[media_id] = Media(media_id, kind, filename, content_type, data, now)
    call.detail = {"type": kind, "bytes": len(data)}
    return {"type": kind, "media_id": media_id, "created_at": int(now)}


async def _multipart_media(request: web.Request) -> tuple[str, str, bytes]:
    reader = await request.multipart()
    async for part in reader:
        if part.name == "media":
            data = await part.read(decode=False)
            return part.filename or "media", part.headers.get("Content-Type", ""), bytes(data)
    raise ApiError(41005, "media data missing")


# -- users and tags ----------------------------------------------------------------------------------
USER_PAGE, BATCHGET_MAX = 10_000, 100


def _user_info(member: Member) -> dict:
    if not member.subscribed:
        return {"subscribe": 0, "openid": member.openid, "tagid_list": []}
    return {"subscribe": 1, "openid": member.openid, "language": "zh_CN", "subscribe_time": member.subscribe_time,
            "remark": "", "groupid": 0, "tagid_list": list(member.tags),
            "subscribe_scene": member.subscribe_scene, "qr_scene": 0, "qr_scene_str": member.qr_scene_str}


async def user_info(sandbox: Sandbox, call: Call) -> dict:
    call.openid = call.query.get("openid", "")
    return _user_info(sandbox.account.member(call.openid))


async def user_info_batch(sandbox: Sandbox, call: Call) -> dict:
    """POST user/info/batchget {"user_list": [{"openid", "lang"?}, …]}: 1 to 100 users, each one known."""
    users = (await call.body()).get("user_list")
    if not isinstance(users, list) or not 1 <= len(users) <= BATCHGET_MAX:
        raise ApiError(40032)
    if not all(isinstance(user, dict) for user in users):
        raise ApiError(47001)
    members = [sandbox.account.member(str(user.get("openid") or "")) for user in users]
    call.detail = {"count": len(members)}
    return {"user_info_list": [_user_info(member) for member in members]}


async def followers(sandbox: Sandbox, call: Call) -> dict:
    """GET user/get[?next_openid=]: the followers in the order they followed, 10,000 a page.

    As on the platform, a page's next_openid is its last openid even when no follower comes after it; the
    page after the last one (and an account without followers) has count 0, no "data" and next_openid ""."""
    account = sandbox.account
    after = call.query.get("next_openid", "")
    if after and after not in account.followers:
        raise ApiError(40003)
    page = _page_after(account.followers, after, USER_PAGE)
    call.detail = {"count": page["count"]}
    return {"total": len(account.followers), **page}


def _page_after(openids, after: str, size: int) -> dict:
    """The next page of a list of openids, starting after `after` (from the start if empty)."""
    remaining = iter(openids)
    if after:
        remaining = itertools.dropwhile(lambda openid: openid != after, remaining)
        next(remaining, None)
    page = list(itertools.islice(remaining, size))
    if not page:
        return {"count": 0, "next_openid": ""}
    return {"count": len(page), "data": {"openid": page}, "next_openid": page[-1]}


def _tag_name(sandbox: Sandbox, raw, *, except_id: int | None = None) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(45157)
    if len(raw) > 30:
        raise ApiError(45158)
    if any(tag.name == raw and tag.id != except_id for tag in sandbox.account.tags.values()):
        raise ApiError(45157)
    return raw


def _tag(sandbox: Sandbox, raw_id, *, editable: bool = False):
    tag_id = _int(raw_id)
    if editable and tag_id in SYSTEM_TAG_IDS:
        raise ApiError(45058)
    tag = sandbox.account.tags.get(tag_id)
    if tag is None:
        raise ApiError(45159)
    return tag


async def tags_create(sandbox: Sandbox, call: Call) -> dict:
    name = _tag_name(sandbox, ((await call.body()).get("tag") or {}).get("name"))
    account = sandbox.account
    if len(account.tags) >= TAGS_PER_ACCOUNT:
        raise ApiError(45056)
    tag = Tag(next(account.tag_ids), name)
    account.tags[tag.id] = tag
    return {"tag": {"id": tag.id, "name": tag.name}}


async def tags_get(sandbox: Sandbox, call: Call) -> dict:
    return {"tags": [{"id": t.id, "name": t.name, "count": len(t.members)} for t in sandbox.account.tags.values()]}


async def tags_update(sandbox: Sandbox, call: Call) -> dict:
    spec = (await call.body()).get("tag") or {}
    tag = _tag(sandbox, spec.get("id"), editable=True)
    tag.name = _tag_name(sandbox, spec.get("name"), except_id=tag.id)
    return OK


async def tags_delete(sandbox: Sandbox, call: Call) -> dict:
    tag = _tag(sandbox, ((await call.body()).get("tag") or {}).get("id"), editable=True)
    if len(tag.members) > 100_000:
        raise ApiError(45057)
    for openid in tag.members:
        sandbox.account.members[openid].tags.pop(tag.id, None)
    del sandbox.account.tags[tag.id]
    return OK


async def _tagging_batch(sandbox: Sandbox, call: Call) -> tuple[object, list[Member]]:
    body = await call.body()
    openids = body.get("openid_list")
    if not isinstance(openids, list) or not 1 <= len(openids) <= TAGGING_BATCH:
        raise ApiError(40032)
    tag = _tag(sandbox, body.get("tagid"))
    return tag, [sandbox.account.member(str(openid)) for openid in openids]


async def batch_tagging(sandbox: Sandbox, call: Call) -> dict:
    tag, members = await _tagging_batch(sandbox, call)
    if any(tag.id not in m.tags and len(m.tags) >= TAGS_PER_MEMBER for m in members):
        raise ApiError(45059)
    for member in members:
        member.tags[tag.id] = None
        tag.members[member.openid] = None
    call.detail = {"tagid": tag.id, "count": len(members)}
    return OK


async def batch_untagging(sandbox: Sandbox, call: Call) -> dict:
    tag, members = await _tagging_batch(sandbox, call)
    for member in members:
        member.tags.pop(tag.id, None)
        tag.members.pop(member.openid, None)
    call.detail = {"tagid": tag.id, "count": len(members)}
    return OK


async def tags_of_member(sandbox: Sandbox, call: Call) -> dict:
    call.openid = str((await call.body()).get("openid") or "")
    return {"tagid_list": list(sandbox.account.member(call.openid).tags)}


async def members_of_tag(sandbox: Sandbox, call: Call) -> dict:
    body = await call.body()
    tag = _tag(sandbox, body.get("tagid"))
    return _page_after(tag.members, str(body.get("next_openid") or ""), TAG_PAGE)


def _int(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ApiError(40050 if raw is None else 47001) from None


# -- menus -----------------------------------------------------------------------------------------
async def menu_create(sandbox: Sandbox, call: Call) -> dict:
    sandbox.account.menu = rules.validate_menu(await call.body())
    return OK


async def menu_get(sandbox: Sandbox, call: Call) -> dict:
    if sandbox.account.menu is None:
        raise ApiError(46003)
    return rules.menu_as_returned(sandbox.account.menu)


async def menu_delete(sandbox: Sandbox, call: Call) -> dict:
    sandbox.account.menu = None
    return OK


ROUTES = [
    ("POST", "stable_token", stable_token, False),
    ("GET", "token", classic_token, False),
    ("POST", "message/custom/send", custom_send, True),
    ("POST", "message/template/send", template_send, True),
    ("POST", "message/subscribe/bizsend", subscribe_send, True),
    ("POST", "message/mass/sendall", mass_sendall, True),
    ("POST", "message/mass/send", mass_send, True),
    ("POST", "qrcode/create", qrcode_create, True),
    ("GET", "showqrcode", showqrcode, False),
    ("POST", "media/upload", media_upload, True),
    ("GET", "user/info", user_info, True),
    ("POST", "user/info/batchget", user_info_batch, True),
    ("GET", "user/get", followers, True),
    ("POST", "tags/create", tags_create, True),
    ("GET", "tags/get", tags_get, True),
    ("POST", "tags/update", tags_update, True),
    ("POST", "tags/delete", tags_delete, True),
    ("POST", "tags/members/batchtagging", batch_tagging, True),
    ("POST", "tags/members/batchuntagging", batch_untagging, True),
    ("POST", "tags/getidlist", tags_of_member, True),
    ("POST", "user/tag/get", members_of_tag, True),
    ("POST", "menu/create", menu_create, True),
    ("GET", "menu/get", menu_get, True),
    ("GET", "menu/delete", menu_delete, True),
]


def add_routes(router: web.UrlDispatcher) -> None:
    for method, name, handler, needs_token in ROUTES:
        router.add_route(method, f"/cgi-bin/{name}", _endpoint(name, handler, needs_token=needs_token))
