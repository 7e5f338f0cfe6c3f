"""wechatpy's own WeChatClient against the sandbox: a real, synchronous client, run in a thread.

The client fetches its token from the sandbox's classic /cgi-bin/token, as it does from the platform, and every
request it makes is refused unless it goes to this machine. Each test checks what the sandbox answered or
recorded, not only that nothing was raised.
"""
from __future__ import annotations

import asyncio
import io
import ipaddress
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatQRCode
from wechatpy.exceptions import WeChatClientException

from tests.integration.test_sandbox_platform import MENU, TINY_PNG, decode_png


class LoopbackOnly(HTTPAdapter):
    """Sends a request only to a loopback address, before any DNS look-up."""

    def send(self, request, *args, **kwargs):
        host = urlsplit(request.url).hostname or ""
        if host != "localhost" and not _is_loopback(host):
            raise requests.ConnectionError(f"tests may only reach this machine, not {host}")
        return super().send(request, *args, **kwargs)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SandboxedWeChatClient(WeChatClient):
    """wechatpy's client with its API base, and the token endpoint it hard-codes, pointed at the sandbox."""

    def __init__(self, sandbox_url: str, appid: str, secret: str):
        super().__init__(appid, secret, timeout=10)
        self.API_BASE_URL = f"{sandbox_url}/cgi-bin/"
        for scheme in ("http://", "https://"):
            self._http.mount(scheme, LoopbackOnly())

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


@pytest.fixture
def make_client(sandbox):
    clients: list[SandboxedWeChatClient] = []

    def make(secret: str | None = None) -> SandboxedWeChatClient:
        client = SandboxedWeChatClient(sandbox.url, sandbox.config.appid, secret or sandbox.config.appsecret)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client._http.close()


@pytest.fixture
def client(make_client) -> SandboxedWeChatClient:
    return make_client()


def run(function, *args, **kwargs):
    """wechatpy blocks: it runs in a thread while the sandbox answers on the event loop."""
    return asyncio.to_thread(function, *args, **kwargs)


async def follower(sandbox, nickname: str = "小王") -> str:
    return (await sandbox.client.add_member(nickname=nickname, follow=True))["openid"]


# -- tokens ------------------------------------------------------------------------------------------------------
async def test_the_token_comes_from_the_classic_endpoint_and_a_replaced_one_is_fetched_again(sandbox, make_client):
    openid = await follower(sandbox)
    first, other_process = make_client(), make_client()
    await run(first.user.get, openid)
    await run(other_process.user.get, openid)             # its own token replaces the first client's
    await sandbox.client.advance(301)                      # past the 5 minutes the replaced token still works

    info = await run(first.user.get, openid)

    assert info["openid"] == openid and info["subscribe"] == 1
    calls = [(c["endpoint"], c["errcode"], c["token_serial"]) for c in await sandbox.client.calls()]
    assert calls == [("token", 0, 0), ("user/info", 0, 1), ("token", 0, 0), ("user/info", 0, 2),
                     ("user/info", 40001, 0), ("token", 0, 0), ("user/info", 0, 3)]


async def test_bad_credentials_get_the_platforms_errcode(sandbox, make_client):
    with pytest.raises(WeChatClientException) as raised:
        await run(make_client(secret="guessed").menu.get)

    assert raised.value.errcode == 40125
    assert [c["errcode"] for c in await sandbox.client.calls()] == [40125]


async def test_requests_beyond_this_machine_are_refused(client):
    with pytest.raises(requests.ConnectionError, match="only reach this machine"):
        await run(client._http.get, "https://api.weixin.qq.com/cgi-bin/token")


# -- customer-service, template and subscribe messages -----------------------------------------------------------
async def test_customer_service_messages_and_an_uploaded_image(sandbox, client):
    openid = await follower(sandbox)
    uploaded = await run(client.media.upload, "image", io.BytesIO(TINY_PNG))

    await run(client.message.send_text, openid, "您的积分余额为 1280 分")
    await run(client.message.send_image, openid, uploaded["media_id"])

    sent = [e["message"] for e in await sandbox.client.delivered(openid, "custom")]
    assert sent == [{"msgtype": "text", "text": {"content": "您的积分余额为 1280 分"}},
                    {"msgtype": "image", "image": {"media_id": uploaded["media_id"]}}]
    assert uploaded["type"] == "image"
    assert sandbox.state.account.media[uploaded["media_id"]].data == TINY_PNG


async def test_a_template_message_and_a_subscribe_message(sandbox, client):
    openid = await follower(sandbox)
    data = {"number2": {"value": "+128"}, "time4": {"value": "2026-01-18 10:00"}}
    answer = await run(client.message.send_template, openid, "TPL_POINTS_CHANGED", data,
                       url="https://mall.example.com/points")
    await sandbox.client.consent(openid, "SUB_EVENT_REMINDER")
    await run(client.message.send_subscribe_message, openid, "SUB_EVENT_REMINDER", {"thing1": {"value": "品酒会"}})
    with pytest.raises(WeChatClientException) as no_consent_left:
        await run(client.message.send_subscribe_message, openid, "SUB_EVENT_REMINDER", {"thing1": {"value": "再来"}})

    [template] = await sandbox.client.delivered(openid, "template")
    [subscribe] = await sandbox.client.delivered(openid, "subscribe")
    assert template["message"]["msgid"] == answer["msgid"]
    assert template["message"]["template"]["data"] == data
    assert template["message"]["template"]["url"] == "https://mall.example.com/points"
    assert subscribe["message"]["template"]["data"] == {"thing1": {"value": "品酒会"}}
    assert no_consent_left.value.errcode == 43101


# -- QR codes -----------------------------------------------------------------------------------------------------
async def test_a_qr_code_is_created_and_its_image_found_by_the_ticket_in_wechatpys_url(sandbox, client):
    created = await run(client.qrcode.create, {
        "expire_seconds": 3600, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "ref:M7"}}})
    image_url = WeChatQRCode.get_url(created["ticket"])    # the platform's host: asked of the sandbox instead
    query = urlsplit(image_url).query

    image = await run(client._http.get, f"{sandbox.url}/cgi-bin/showqrcode?{query}")

    [recorded] = await sandbox.client.qrcodes()
    assert (recorded["ticket"], recorded["scene"], created["expire_seconds"]) == (created["ticket"], "ref:M7", 3600)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    width, height, _ = decode_png(image.content)
    assert width == height > 100


# -- tags and users -------------------------------------------------------------------------------------------------
async def test_tags_are_created_applied_listed_renamed_and_deleted(sandbox, client):
    openids = await sandbox.client.add_followers(3, prefix="oTag")
    tag = await run(client.tag.create, "瑜伽俱乐部")

    await run(client.tag.tag_user, tag["id"], openids[:2])
    await run(client.tag.untag_user, tag["id"], openids[0])
    await run(client.tag.update, tag["id"], "瑜伽社")

    assert await run(client.tag.get) == [{"id": tag["id"], "name": "瑜伽社", "count": 1}]
    assert await run(client.tag.get_user_tag, openids[1]) == [tag["id"]]
    assert await run(lambda: list(client.tag.iter_tag_users(tag["id"]))) == [openids[1]]
    await run(client.tag.delete, tag["id"])
    assert await run(client.tag.get) == [] and (await sandbox.client.member(openids[1]))["tags"] == []


async def test_user_info_one_at_a_time_and_in_a_batch(sandbox, client):
    openid = await follower(sandbox)
    others = await sandbox.client.add_followers(99, prefix="oInfo")

    info = await run(client.user.get, openid)
    batch = await run(client.user.get_batch, [openid, *others])
    with pytest.raises(WeChatClientException) as too_many:
        await run(client.user.get_batch, [openid, *others, others[0]])
    with pytest.raises(WeChatClientException) as unknown:
        await run(client.user.get_batch, [openid, "o-never-seen"])

    assert info["subscribe"] == 1 and info["subscribe_scene"] == "ADD_SCENE_SEARCH"
    assert [user["openid"] for user in batch] == [openid, *others] and batch[0] == info
    assert (too_many.value.errcode, unknown.value.errcode) == (40032, 40003)


async def test_iter_followers_pages_through_more_than_10000_followers(sandbox, client):
    openids = await sandbox.client.add_followers(10_050, prefix="oPage")

    listed = await run(lambda: list(client.user.iter_followers()))

    assert listed == openids
    pages = [c["detail"]["count"] for c in await sandbox.client.calls("user/get")]
    assert pages == [10_000, 50, 0]     # wechatpy asks once more after the last page, as the platform expects


async def test_an_account_without_followers_lists_none(sandbox, client):
    assert await run(client.user.get_followers) == {"total": 0, "count": 0, "next_openid": ""}
    assert await run(lambda: list(client.user.iter_followers())) == []


# -- menus ---------------------------------------------------------------------------------------------------------
async def test_a_menu_is_created_read_and_deleted(sandbox, client):
    await run(client.menu.create, MENU)
    read = await run(client.menu.get)
    await run(client.menu.delete)

    assert [b["name"] for b in read["menu"]["button"]] == ["我的积分", "会员", "会员码"]
    assert await sandbox.client.menu() is None
    assert await run(client.menu.get) is None           # wechatpy turns 46003 into None


# -- mass sends -------------------------------------------------------------------------------------------------------
async def test_mass_sends_to_all_to_openids_and_to_a_tag(sandbox, client):
    openids = await sandbox.client.add_followers(4, prefix="oMass")
    tag = await run(client.tag.create, "品酒会")
    await run(client.tag.tag_user, tag["id"], openids[:2])

    to_all = await run(client.message.send_mass_text, None, "会员日来了", is_to_all=True, client_msg_id="all-1")
    to_openids = await run(client.message.send_mass_text, openids[2:], "专属邀请", client_msg_id="list-1")
    with pytest.raises(WeChatClientException) as by_group:
        await run(client.message.send_mass_text, tag["id"], "品酒会邀请", client_msg_id="tag-1")
    raw_body = {"filter": {"is_to_all": False, "tag_id": tag["id"]}, "msgtype": "text",
                "text": {"content": "品酒会邀请"}, "clientmsgid": "tag-1"}
    to_tag = await run(client.post, "message/mass/sendall", data=raw_body)
    await sandbox.client.settle()

    assert by_group.value.errcode == 40152        # wechatpy's filter says group_id, which names no tag
    reached = {}
    for entry in await sandbox.client.all_messages(channel="mass"):
        reached.setdefault(entry["message"]["text"]["content"], []).append(entry["openid"])
    assert reached == {"会员日来了": openids, "专属邀请": openids[2:], "品酒会邀请": openids[:2]}
    finished = {c["fields"]["MsgID"]: c["fields"]["SentCount"]
                for c in await sandbox.client.callbacks(event="MASSSENDJOBFINISH")}
    assert finished == {to_all["msg_id"]: 4, to_openids["msg_id"]: 2, to_tag["msg_id"]: 2}
