"""The /wechat callback endpoint: verification, plaintext and safe-mode conversations, retries, hostile input."""
from __future__ import annotations

import asyncio
import base64
import time

import pytest
from wechatpy.crypto import WeChatCrypto

from bot.handlers import build_router
from bot.router import Router
from bot.wechat_crypto import signature
from tests.wechat_peer import AES_KEY, APPID, TOKEN, WeChatPeer, event_xml, text_xml


async def snapshot(redis) -> dict:
    """Every key with its type and value, to prove a request changed nothing."""
    state = {}
    async for key in redis.scan_iter(count=1000):
        state[key] = (await redis.type(key), await redis.dump(key))
    return state


# -- verification ---------------------------------------------------------------------------------
async def test_echostr_is_echoed_for_a_good_signature(start_bot):
    client = await start_bot()
    ts, nonce = str(int(time.time())), "123"
    good = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "e4711"}
    response = await client.get("/wechat", params=good)
    assert (response.status, await response.text()) == (200, "e4711")
    response = await client.get("/wechat", params=good | {"signature": "0" * 40})
    assert response.status == 403
    stale = str(int(time.time()) - 301)
    response = await client.get("/wechat", params=good | {"timestamp": stale,
                                                          "signature": signature(TOKEN, stale, nonce)})
    assert response.status == 403


# -- conversations ----------------------------------------------------------------------------------
async def test_plaintext_conversation(start_bot, redis):
    peer = WeChatPeer(await start_bot())
    welcome = await peer.follow("o_alice")
    assert welcome.status == 200 and "欢迎加入" in welcome.content
    assert welcome.fields["ToUserName"] == "o_alice" and welcome.fields["MsgType"] == "text"
    assert "绑定" in await peer.say("o_alice", "帮助")
    assert "会员中心可以帮您" in await peer.say("o_alice", "ＨＥＬＰ")
    assert "没有看懂" in await peer.say("o_alice", "今天天气怎么样")


async def test_safe_mode_conversation_is_encrypted_both_ways(start_bot):
    client = await start_bot(wechat_aes_key=AES_KEY)
    peer = WeChatPeer(client, aes_key=AES_KEY)
    answer = await peer.follow("o_bob")
    assert answer.status == 200 and "Encrypt" in answer.fields and "Content" not in answer.fields
    assert "欢迎加入" in peer.open_reply(answer).content
    assert "会员中心可以帮您" in await peer.say("o_bob", "帮助")


async def test_in_safe_mode_a_plaintext_callback_is_refused_however_well_signed(start_bot, redis):
    client = await start_bot(wechat_aes_key=AES_KEY)
    plaintext = WeChatPeer(client)               # signs timestamp and nonce, as anyone with one callback URL can
    answer = await plaintext.post(text_xml("o_mallory", "积分"))
    assert (answer.status, answer.body) == (403, "plaintext callback refused: safe mode is configured")
    assert await redis.dbsize() == 0


async def test_wechat_allow_plaintext_takes_plaintext_callbacks_next_to_safe_mode(start_bot):
    client = await start_bot(wechat_aes_key=AES_KEY, allow_plaintext=True)    # e.g. while switching modes
    assert "欢迎加入" in (await WeChatPeer(client).follow("o_carol")).content
    safe = WeChatPeer(client, aes_key=AES_KEY)
    assert "欢迎加入" in safe.open_reply(await safe.follow("o_dave")).content


async def test_safe_mode_message_for_another_appid_is_refused(start_bot, redis):
    client = await start_bot(wechat_aes_key=AES_KEY)
    foreign = WeChatPeer(client, aes_key=AES_KEY, appid="wx0ther0000000000")
    before = await snapshot(redis)
    answer = await foreign.post(text_xml("o_eve", "积分"))
    assert answer.status == 403 and "AppID" in answer.body
    assert await snapshot(redis) == before


async def test_unfollow_then_follow_again_restores_the_same_member(start_bot, redis):
    peer = WeChatPeer(await start_bot())
    now = int(time.time())
    await peer.follow("o_carol", create_time=now - 20)
    member_id = await redis.get("idx:openid:o_carol")
    await peer.unfollow("o_carol", create_time=now - 10)
    assert await redis.hget(f"{{m:{member_id}}}:profile", "status") == "unsubscribed"
    again = await peer.follow("o_carol", create_time=now)
    assert "欢迎回来" in again.content
    assert await redis.get("idx:openid:o_carol") == member_id
    assert await redis.hget(f"{{m:{member_id}}}:profile", "follow_count") == "2"


# -- retries -----------------------------------------------------------------------------------------
def counting_router(runs: list) -> Router:
    """The product's router plus one slow keyword that counts its runs."""
    slow = Router("slow")

    @slow.text("慢")
    async def slow_handler(ctx):
        runs.append(ctx.message.msg_id)
        await asyncio.sleep(0.3)
        return ctx.render("error.txt", correlation=f"run{len(runs)}")

    return build_router().include(slow)


async def test_three_concurrent_deliveries_to_two_instances_run_the_handler_once(start_bot):
    runs: list[str] = []
    first = WeChatPeer(await start_bot(router=counting_router(runs)))
    second = WeChatPeer(await start_bot(router=counting_router(runs)))
    delivery = text_xml("o_dave", "慢", msg_id=6054768590064713728)
    answers = await asyncio.gather(first.post(delivery), second.post(delivery), first.post(delivery))
    assert len(runs) == 1
    assert {a.status for a in answers} == {200}
    assert len({a.body for a in answers}) == 1 and "run1" in answers[0].body
    late_retry = await second.post(delivery)
    assert late_retry.body == answers[0].body and len(runs) == 1


async def test_a_retry_runs_the_message_when_the_first_delivery_died_holding_its_claim(start_bot, redis, caplog):
    runs: list[str] = []
    peer = WeChatPeer(await start_bot(router=counting_router(runs), budget=3.0))
    msg_id = 6054768590064713999
    # The first delivery's process claimed the message and died before any outcome: its claim is about to lapse.
    await redis.set(f"wx:dedup:msg:{msg_id}", '{"s":"pending"}', px=300)
    with caplog.at_level("WARNING", logger="bot.dispatch"):
        answer = await peer.post(text_xml("o_frank", "慢", msg_id=msg_id))
    assert answer.status == 200 and "run1" in answer.content and len(runs) == 1
    assert "claim lapsed" in caplog.text                       # the retry found the claim and waited it out


async def test_a_stored_reply_outlives_the_claim_so_later_retries_still_get_it(start_bot, redis):
    peer = WeChatPeer(await start_bot(budget=0.5))
    msg_id = 6054768590064714000
    answer = await peer.post(text_xml("o_gina", "帮助", msg_id=msg_id))
    assert "会员中心可以帮您" in answer.content
    assert await redis.ttl(f"wx:dedup:msg:{msg_id}") > 60


async def test_two_menu_taps_in_the_same_second_each_get_their_own_reply_and_retries_the_same(start_bot):
    peer = WeChatPeer(await start_bot())
    await peer.follow("o_tess")
    now = int(time.time())
    points = await peer.post(event_xml("o_tess", "CLICK", "MY_POINTS", create_time=now))
    tier = await peer.post(event_xml("o_tess", "CLICK", "MY_TIER", create_time=now))
    assert "可用积分" in points.content and "普卡" in tier.content
    retries = [await peer.post(event_xml("o_tess", "CLICK", key, create_time=now)) for key in ("MY_POINTS", "MY_TIER")]
    assert [r.body for r in retries] == [points.body, tier.body]


async def test_a_retried_follow_creates_one_member_one_join_and_one_welcome_coupon(start_bot, redis):
    first, second = WeChatPeer(await start_bot()), WeChatPeer(await start_bot())
    follow = event_xml("o_erin", "subscribe", create_time=1_700_000_000)
    answers = await asyncio.gather(first.post(follow), second.post(follow), first.post(follow))
    assert len({a.body for a in answers}) == 1
    assert await redis.get("seq:member") == "1"
    events = [fields["type"] for _, fields in await redis.xrange("outbox:events")]
    assert events == ["member_joined", "coupon_issued"]


# -- hostile input -------------------------------------------------------------------------------------
XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       '<xml><ToUserName>gh</ToUserName><FromUserName>o_x</FromUserName><CreateTime>1</CreateTime>'
       '<MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
          '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><ToUserName>gh</ToUserName><FromUserName>o_x</FromUserName>'
          '<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&c;</Content><MsgId>2</MsgId></xml>')
UNKNOWN_TYPE = ('<xml><ToUserName>gh</ToUserName><FromUserName>o_new</FromUserName><CreateTime>1</CreateTime>'
                '<MsgType>hologram</MsgType><MsgId>3</MsgId></xml>')


@pytest.mark.parametrize("case, status", [
    ("bad signature", 403), ("stale timestamp", 403), ("future timestamp", 403), ("superscript timestamp", 403),
    ("xxe", 400),
    ("billion laughs", 400), ("66 KiB body", 413), ("non-UTF-8 bytes", 400), ("empty body", 400),
    ("unknown MsgType", 200), ("not xml", 400),
])
async def test_hostile_plaintext_input_changes_nothing(start_bot, redis, case, status):
    peer = WeChatPeer(await start_bot())
    await peer.follow("o_seed")
    before = await snapshot(redis)
    now = int(time.time())
    send = {
        "bad signature": lambda: peer.post(text_xml("o_seed", "积分"), sign=False),
        "stale timestamp": lambda: peer.post(text_xml("o_seed", "积分"), timestamp=now - 301),
        "future timestamp": lambda: peer.post(text_xml("o_seed", "积分"), timestamp=now + 301),
        "superscript timestamp": lambda: peer.post(text_xml("o_seed", "积分"), timestamp="²"),
        "xxe": lambda: peer.post(XXE),
        "billion laughs": lambda: peer.post(LAUGHS),
        "66 KiB body": lambda: peer.post(text_xml("o_seed", "积" * (22 * 1024))),
        "non-UTF-8 bytes": lambda: peer.post(b"<xml><Content>\xff\xfe\xfd</Content></xml>"),
        "empty body": lambda: peer.post(b""),
        "unknown MsgType": lambda: peer.post(UNKNOWN_TYPE),
        "not xml": lambda: peer.post(b"{\"MsgType\": \"text\"}"),
    }[case]
    answer = await send()
    assert answer.status == status
    if status == 200:
        assert answer.body == "success"
    assert await snapshot(redis) == before


@pytest.mark.parametrize("encrypt, status", [
    ("!!!not-base64!!!", 400),
    (base64.b64encode(b"\x01" * 40).decode(), 400),                  # not whole AES blocks
    (base64.b64encode(b"\x00" * 96).decode(), 400),                  # decrypts to garbage
    ("", 400),
])
async def test_garbage_ciphertext_changes_nothing(start_bot, redis, encrypt, status):
    peer = WeChatPeer(await start_bot(wechat_aes_key=AES_KEY), aes_key=AES_KEY)
    await peer.follow("o_seed")
    before = await snapshot(redis)
    answer = await peer.post_encrypted_raw(encrypt)
    assert answer.status == status
    assert await snapshot(redis) == before


async def test_an_encrypt_element_with_children_is_a_bad_request_not_a_500(start_bot, redis):
    client = await start_bot(wechat_aes_key=AES_KEY)
    ts, nonce = str(int(time.time())), "8271"
    params = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": "0" * 40,
              "signature": signature(TOKEN, ts, nonce)}
    response = await client.post("/wechat", params=params, data=b"<xml><Encrypt><a>b</a></Encrypt></xml>")
    assert response.status == 400
    assert await redis.dbsize() == 0


async def test_truncated_ciphertext_changes_nothing(start_bot, redis):
    peer = WeChatPeer(await start_bot(wechat_aes_key=AES_KEY), aes_key=AES_KEY)
    await peer.follow("o_seed")
    before = await snapshot(redis)
    real = WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(text_xml("o_seed", "帮助"), "1", "1")
    encrypt = real.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    for cut in (encrypt[:-1], encrypt[:-4], encrypt[: len(encrypt) // 2]):
        answer = await peer.post_encrypted_raw(cut)
        assert answer.status in (400, 403)
    assert await snapshot(redis) == before


async def test_safe_mode_without_a_configured_key_is_refused(start_bot, redis):
    client = await start_bot()
    peer = WeChatPeer(client, aes_key=AES_KEY)
    answer = await peer.post(text_xml("o_seed", "帮助"))
    assert answer.status == 403
    assert await redis.dbsize() == 0


async def test_healthz_reports_redis(start_bot):
    client = await start_bot()
    response = await client.get("/healthz")
    assert response.status == 200 and (await response.json())["status"] == "ok"
    metrics = await (await client.get("/metrics")).text()
    assert "wechat_callbacks_total" in metrics


async def test_a_failing_handler_gives_an_apology_with_a_correlation_id_and_a_clean_log(start_bot, caplog):
    broken = Router("broken")

    @broken.text("坏了")
    async def explode(ctx):
        raise RuntimeError("database on fire")

    peer = WeChatPeer(await start_bot(router=build_router().include(broken)))
    with caplog.at_level("ERROR"):
        answer = await peer.post(text_xml("o_victim_openid", "坏了"))
    assert answer.status == 200 and "抱歉" in answer.content
    correlation = answer.content.split("编号 ")[1].rstrip("）")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert correlation in logged and "o_victim_openid" not in logged


async def test_redis_down_gets_the_short_busy_text_not_a_500(start_bot, caplog):
    peer = WeChatPeer(await start_bot(redis_url="redis://127.0.0.1:1/0"))
    with caplog.at_level("WARNING"):
        answers = [await peer.post(text_xml("o_someone", "积分")) for _ in range(3)]
    assert {(answer.status, answer.content) for answer in answers} == {(200, "系统繁忙，请稍后再试。")}
    outage = [record.getMessage() for record in caplog.records if "Redis unavailable" in record.getMessage()]
    assert outage == ["WeChat callbacks: Redis unavailable (ConnectionError); trying again quietly until it is back"]
