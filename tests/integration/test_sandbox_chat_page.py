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


# Draws the text on a canvas in the bubble's own font and counts the pixels that are clearly coloured (not grey):
# a colour emoji font gives many, a missing one a monochrome box or nothing.
COLOURED_PIXELS = """(bubble) => {
  const style = getComputedStyle(bubble);
  const canvas = document.createElement("canvas");
  canvas.width = 400; canvas.height = 80;
  const context = canvas.getContext("2d");
  context.font = `48px ${style.fontFamily}`;
  context.fillStyle = "#000";
  context.textBaseline = "top";
  context.fillText(bubble.textContent, 0, 8);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const [r, g, b, alpha] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
    if (alpha > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured += 1;
  }
  return coloured;
}"""


async def test_an_emoji_in_a_message_renders_in_colour(sandbox, wechat_api, output_dir):
    member = await sandbox.client.add_member(nickname="小王", follow=True)
    await wechat_api.send_custom(member["openid"], {"msgtype": "text", "text": {"content": "我的推荐二维码 👇"}})
    plain = await sandbox.client.add_member(nickname="小李", follow=True)
    await wechat_api.send_custom(plain["openid"], {"msgtype": "text", "text": {"content": "我的推荐二维码"}})

    async with chromium_page() as (page, problems):
        await page.goto(f"{sandbox.url}/")
        await page.select_option("#persona-select", member["openid"])
        bubble = await page.wait_for_selector(".msg.out .bubble >> text=我的推荐二维码")
        with_emoji = await bubble.evaluate(COLOURED_PIXELS)
        await page.screenshot(path=str(output_dir / "emoji.png"))
        await page.select_option("#persona-select", plain["openid"])
        bubble = await page.wait_for_selector(".msg.out .bubble >> text=我的推荐二维码")
        without_emoji = await bubble.evaluate(COLOURED_PIXELS)

    assert problems == []
    assert without_emoji == 0                   # the text alone is black: the colour comes from the emoji
    assert with_emoji > 300                     # 👇 drawn 48 px high is mostly yellow


async def test_template_and_subscribe_messages_show_as_service_notice_cards(sandbox, wechat_api, output_dir):
    member = await sandbox.client.add_member(nickname="陈先生", follow=True)
    openid = member["openid"]
    await wechat_api.send_template(openid, "TPL_POINTS_CHANGED", {
        "first": {"value": "您好，您的积分有变动"},
        "thing1": {"value": "消费🎉满额送积分活动（星河汇购物中心三楼东区）", "color": "#FF0000"},
        "number2": {"value": "+128", "color": "#FF0000"},
        "time4": {"value": "2026-01-18\n10:00"},
        "remark": {"value": "点击查看积分明细"},
    }, url="https://mall.example.com/points")
    await sandbox.client.consent(openid, "SUB_BIRTHDAY_GIFT")
    await wechat_api.send_subscribe(openid, "SUB_BIRTHDAY_GIFT", {"thing1": {"value": "生日蛋糕券"}})

    async with chromium_page(height=900) as (page, problems):
        await page.goto(f"{sandbox.url}/")
        await page.select_option("#persona-select", openid)
        await page.wait_for_selector(".card-msg >> text=生日礼遇提醒")
        text_colour = await page.evaluate("getComputedStyle(document.body).color")
        cards = await page.locator(".card-msg").evaluate_all("""cards => cards.map(card => ({
            title: card.querySelector("h4").textContent,
            fields: [...card.querySelectorAll(".field")].map(f => [f.children[0].textContent, f.children[1].textContent]),
            details: card.querySelector(".more-link")?.textContent ?? null,
            colours: [...card.querySelectorAll(".value")].map(v => getComputedStyle(v).color),
            lines: [...card.querySelectorAll(".value")].map(v => Math.round(v.getBoundingClientRect().height)),
        }))""")
        await page.screenshot(path=str(output_dir / "service-notices.png"))

    points, birthday = cards
    assert points["title"] == "积分变动提醒" and points["details"] == "详情›"
    assert points["fields"] == [["变动原因", "消费满额送积分活动（星河汇购物中心三楼东…"],
                                ["变动积分", "+128"], ["变动时间", "2026-01-18 10:00"]]
    assert set(points["colours"]) == {text_colour}                  # the page's text colour, never the sender's
    assert len(set(points["lines"])) == 1                          # every value on one line of the same height
    assert birthday == {"title": "生日礼遇提醒", "fields": [["礼遇内容", "生日蛋糕券"]], "details": None,
                        "colours": [text_colour], "lines": points["lines"][:1]}
    assert problems == []
