"""Callbacks from the sandbox to a bot: signed, encrypted in safe mode, retried as WeChat retries them."""
from __future__ import annotations

import asyncio
import hashlib
import time

import pytest
from aiohttp import web
from wechatpy.crypto import WeChatCrypto

from tests.fixtures_sandbox import SANDBOX_AES_KEY, SANDBOX_TOKEN
from wechat_sandbox.callbacks import UNAVAILABLE, flat_fields, to_xml


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def passive_text(fields: dict[str, str], content: str, original_id: str) -> str:
    return to_xml({"ToUserName": fields["FromUserName"], "FromUserName": original_id,
                   "CreateTime": int(time.time()), "MsgType": "text", "Content": content})


@pytest.fixture
async def wired(start_sandbox, bot_stub):
    """A sandbox whose callbacks go to the bot stub, and a follower."""
    sandbox = await start_sandbox(bot_callback_url=bot_stub.url)
    member = await sandbox.client.add_member(nickname="Dora", follow=True, notify=False)
    return sandbox, member["openid"]


async def test_a_text_message_arrives_signed_and_the_passive_reply_reaches_the_member(wired, bot_stub):
    sandbox, openid = wired
    await sandbox.client.advance(30 * 86400)          # the sandbox's clock does not leak into the signature time

    async def reply(request, nth):
        fields = flat_fields(request.body)
        return web.Response(text=passive_text(fields, f"收到：{fields['Content']}", sandbox.config.original_id))
    bot_stub.respond = reply

    result = await sandbox.client.text(openid, "积分")

    [request] = bot_stub.requests
    query, fields = request.query, flat_fields(request.body)
    assert query["signature"] == signature(SANDBOX_TOKEN, query["timestamp"], query["nonce"])
    assert abs(int(query["timestamp"]) - time.time()) < 60 and query["openid"] == openid
    assert "encrypt_type" not in query
    assert fields | {"CreateTime": "-"} == {
        "ToUserName": sandbox.config.original_id, "FromUserName": openid, "CreateTime": "-", "MsgType": "text",
        "Content": "积分", "MsgId": result["msg_id"]}
    assert int(fields["MsgId"]) > 2**60 and result["outcome"] == "replied"
    conversation = await sandbox.client.messages(openid)
    assert [(e["channel"], e["message"]["text"]["content"]) for e in conversation] == [
        ("member", "积分"), ("passive", "收到：积分")]


async def test_message_ids_increase(wired, bot_stub):
    sandbox, openid = wired
    ids = [int((await sandbox.client.text(openid, f"第{n}条"))["msg_id"]) for n in range(3)]

    assert ids == sorted(ids) and len(set(ids)) == 3


async def test_safe_mode_callbacks_are_encrypted_and_encrypted_replies_are_read(start_sandbox, bot_stub):
    sandbox = await start_sandbox(bot_callback_url=bot_stub.url, aes_key=SANDBOX_AES_KEY)
    member = await sandbox.client.add_member(nickname="Eve", follow=True, notify=False)
    crypto = WeChatCrypto(SANDBOX_TOKEN, SANDBOX_AES_KEY, sandbox.config.appid)
    opened: list[dict[str, str]] = []

    async def reply(request, nth):
        query = request.query
        plain = crypto.decrypt_message(request.body.decode(), query["msg_signature"], query["timestamp"],
                                       query["nonce"])
        opened.append(flat_fields(plain))
        answer = passive_text(opened[-1], "安全模式你好", sandbox.config.original_id)
        return web.Response(text=crypto.encrypt_message(answer, query["nonce"], query["timestamp"]))
    bot_stub.respond = reply

    result = await sandbox.client.text(member["openid"], "加密消息")

    [request] = bot_stub.requests
    envelope = flat_fields(request.body)
    assert set(envelope) == {"ToUserName", "Encrypt"} and "加密消息".encode() not in request.body
    assert request.query["encrypt_type"] == "aes"
    assert request.query["signature"] == signature(SANDBOX_TOKEN, request.query["timestamp"], request.query["nonce"])
    assert opened[0]["Content"] == "加密消息" and opened[0]["FromUserName"] == member["openid"]
    assert result["outcome"] == "replied" and result["reply"]["text"]["content"] == "安全模式你好"


async def test_a_plaintext_reply_in_safe_mode_is_refused(start_sandbox, bot_stub):
    sandbox = await start_sandbox(bot_callback_url=bot_stub.url, aes_key=SANDBOX_AES_KEY)
    member = await sandbox.client.add_member(nickname="Fay", follow=True, notify=False)

    async def reply(request, nth):
        return web.Response(text=passive_text({"FromUserName": member["openid"]}, "明文", sandbox.config.original_id))
    bot_stub.respond = reply

    result = await sandbox.client.text(member["openid"], "你好")

    assert result["outcome"] == "failed" and "not encrypted" in result["error"]
    assert (await sandbox.client.messages(member["openid"]))[-1]["message"]["text"]["content"] == UNAVAILABLE


async def test_a_slow_answer_is_retried_with_the_same_message(wired, bot_stub):
    sandbox, openid = wired

    async def slow_first(request, nth):
        if nth == 0:
            await asyncio.sleep(0.4)                  # past the sandbox's 0.2 s reply limit
        return web.Response(text=passive_text(flat_fields(request.body), "久等了", sandbox.config.original_id))
    bot_stub.respond = slow_first

    result = await sandbox.client.text(openid, "兑换")

    first, second = (flat_fields(r.body) for r in bot_stub.requests)
    assert first == second                            # same MsgId, same CreateTime
    assert result["attempts"] == 2 and result["tries"][0]["error"] == "timeout"
    assert result["outcome"] == "replied"
    assert [e["channel"] for e in await sandbox.client.messages(openid)] == ["member", "passive"]


async def test_three_tries_at_most_then_the_member_sees_the_service_unavailable_notice(wired, bot_stub):
    sandbox, openid = wired

    async def never_in_time(request, nth):
        await asyncio.sleep(0.3)
        return web.Response(text="success")
    bot_stub.respond = never_in_time

    result = await sandbox.client.click(openid, "MY_POINTS")

    assert len(bot_stub.requests) == 3 and result["attempts"] == 3 and result["outcome"] == "failed"
    assert len({r.body for r in bot_stub.requests}) == 1
    [notice] = await sandbox.client.messages(openid, channel="system")
    assert notice["message"]["text"]["content"] == UNAVAILABLE == "该公众号暂时无法提供服务，请稍后再试"


async def test_server_errors_are_retried_and_success_means_no_reply(wired, bot_stub):
    sandbox, openid = wired

    async def error_then_success(request, nth):
        return web.Response(status=500) if nth == 0 else web.Response(text="success")
    bot_stub.respond = error_then_success

    result = await sandbox.client.text(openid, "在吗")

    assert (result["outcome"], result["attempts"], result["reply"]) == ("no_reply", 2, None)
    assert [e["channel"] for e in await sandbox.client.messages(openid)] == ["member"]


async def test_a_reply_addressed_to_someone_else_is_not_shown(wired, bot_stub):
    sandbox, openid = wired

    async def misaddressed(request, nth):
        return web.Response(text=passive_text({"FromUserName": "o-another-member"}, "给别人的", sandbox.config.original_id))
    bot_stub.respond = misaddressed

    result = await sandbox.client.text(openid, "你好")

    assert result["outcome"] == "failed" and result["attempts"] == 1
    assert [e["channel"] for e in await sandbox.client.messages(openid)] == ["member", "system"]


async def test_qr_scans_arrive_as_subscribe_with_qrscene_for_new_followers_and_scan_for_followers(
        start_sandbox, bot_stub, make_wechat_api):
    sandbox = await start_sandbox(bot_callback_url=bot_stub.url)
    api = await make_wechat_api(sandbox)
    qrcode = await api.create_temporary_qrcode("ref:M000042", 3600)
    newcomer = (await sandbox.client.add_member(nickname="New"))["openid"]
    regular = (await sandbox.client.add_member(nickname="Old", follow=True, notify=False))["openid"]

    await sandbox.client.follow(newcomer, ticket=qrcode.ticket)
    await sandbox.client.scan(regular, ticket=qrcode.ticket)
    await sandbox.client.unfollow(newcomer)

    events = [flat_fields(r.body) for r in bot_stub.requests]
    assert [(e["FromUserName"], e["Event"], e["EventKey"], e["Ticket"]) for e in events[:2]] == [
        (newcomer, "subscribe", "qrscene_ref:M000042", qrcode.ticket),
        (regular, "SCAN", "ref:M000042", qrcode.ticket)]
    assert (events[2]["Event"], "EventKey" in events[2]) == ("unsubscribe", False)
    assert all("MsgId" not in e for e in events)


async def test_consent_from_the_pop_up_sends_the_subscribe_msg_popup_event(wired, bot_stub):
    sandbox, openid = wired

    await sandbox.client.consent(openid, "SUB_EVENT_REMINDER", "SUB_BIRTHDAY_GIFT")

    [request] = bot_stub.requests
    body = request.body.decode()
    assert "<Event><![CDATA[subscribe_msg_popup_event]]></Event>" in body
    assert body.count("<List>") == 2 and body.count("<SubscribeStatusString><![CDATA[accept]]>") == 2
    assert "<TemplateId><![CDATA[SUB_BIRTHDAY_GIFT]]></TemplateId>" in body
    assert (await sandbox.client.member(openid))["consents"] == {"SUB_EVENT_REMINDER": 1, "SUB_BIRTHDAY_GIFT": 1}


async def test_without_a_bot_callbacks_are_recorded(sandbox):
    member = await sandbox.client.add_member(nickname="Solo", follow=True, notify=False)

    result = await sandbox.client.text(member["openid"], "有人吗")

    [record] = await sandbox.client.callbacks(msgtype="text")
    assert result["outcome"] == "no_bot" and record["fields"]["Content"] == "有人吗"


async def test_the_sms_inbox_keeps_codes_per_phone(sandbox):
    await sandbox.client.send_sms("+86 138-0013-8000", "【会员中心】您的验证码是 123456")
    await sandbox.client.send_sms("13900139000", "【会员中心】您的验证码是 654321")

    [sms] = await sandbox.client.sms("13800138000")
    assert sms["text"].endswith("123456") and len(await sandbox.client.sms()) == 2
