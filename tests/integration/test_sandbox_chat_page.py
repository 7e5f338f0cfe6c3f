"""The sandbox's chat page in headless Chromium: a member chats, taps the menu, and sees every channel."""
from __future__ import annotations

import time

import pytest
from aiohttp import web

from tests.browser import chromium_page
from wechat_sandbox.callbacks import flat_fields, to_xml

pytestmark = pytest.mark.browser

MENU = {"button": [
    {"type": "click", "name": "我的积分", "key": "MY_POINTS"},
    {"name": "会员", "sub_button": [{"type": "click", "name": "领券", "key": "GET_COUPON"}]},
]}


async def test_a_member_chats_taps_the_menu_and_sees_pushed_messages(start_sandbox, bot_stub, make_wechat_api,
                                                                       output_dir):
    sandbox = await start_sandbox(bot_callback_url=bot_stub.url)
    api = await make_wechat_api(sandbox)
    await api.create_menu(MENU)

    async def bot(request, nth):
        fields = flat_fields(request.body)
        if fields["MsgType"] != "text":
            return web.Response(text="success")
        reply = {"ToUserName": fields["FromUserName"], "FromUserName": sandbox.config.original_id,
                 "CreateTime": int(time.time()), "MsgType": "text", "Content": "您的积分余额为 1280 分"}
        return web.Response(text=to_xml(reply))
    bot_stub.respond = bot

    async with chromium_page() as (page, problems):
        await page.goto(f"{sandbox.url}/")

        await page.click("#new-persona summary")
        await page.fill("input[name=nickname]", "小王")
        await page.click("#persona-form button")
        await page.wait_for_selector(".event")                       # "你关注了公众号"
        await page.click("#to-keyboard")
        await page.fill("#text-input", "积分")
        await page.click("#send-button")
        await page.wait_for_selector(".msg.out >> text=您的积分余额为 1280 分")
        await page.click("#to-menu")
        await page.click("#menu-buttons >> text=会员")
        await page.click("#submenu >> text=领券")
        await page.wait_for_selector(".event >> text=GET_COUPON")

        [member] = await sandbox.client.request("GET", "/sandbox/members")
        await api.send_custom(member["openid"], {"msgtype": "text", "text": {"content": "20 元券已到账"}})
        await api.send_template(member["openid"], "TPL_POINTS_CHANGED", {"number2": {"value": "+128"}})
        await page.wait_for_selector(".card-msg >> text=+128")
        labels = await page.locator(".msg.out .channel").all_inner_texts()
        await page.wait_for_selector("#calls >> text=message/template/send")
        await page.screenshot(path=str(output_dir / "chat.png"))

    assert labels == ["被动回复", "客服消息", "模板消息"]
    assert problems == []
    assert [(c["event"] or c["msgtype"]) for c in await sandbox.client.callbacks()][:3] == [
        "subscribe", "text", "CLICK"]


async def test_a_member_scans_a_qr_code_the_bot_created_from_the_page(start_sandbox, make_wechat_api):
    sandbox = await start_sandbox()
    api = await make_wechat_api(sandbox)
    await api.create_temporary_qrcode("ref:M000042", 3600)
    member = await sandbox.client.add_member(nickname="小李", follow=True, notify=False)

    async with chromium_page() as (page, problems):
        await page.goto(f"{sandbox.url}/")
        await page.select_option("#persona-select", member["openid"])
        await page.click(".qr button", timeout=5000)
        await page.wait_for_selector(".event >> text=ref:M000042")

    assert problems == []
    [scan] = await sandbox.client.callbacks(event="SCAN")
    assert scan["fields"]["EventKey"] == "ref:M000042"
