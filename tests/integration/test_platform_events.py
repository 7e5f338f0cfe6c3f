"""Consent pop-ups and send-job reports arrive as callbacks and are recorded once."""
import asyncio

from tests.wechat_peer import ACCOUNT, WeChatPeer


def popup_xml(openid: str, decisions: list[tuple[str, str]], create_time: int) -> str:
    items = "".join(f"<List><TemplateId><![CDATA[{t}]]></TemplateId><SubscribeStatusString><![CDATA[{s}]]>"
                    f"</SubscribeStatusString><PopupScene>2</PopupScene></List>" for t, s in decisions)
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>{items}"
            f"</SubscribeMsgPopupEvent></xml>")


def mass_report_xml(msg_id: str, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[oSystem]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>"
            f"<Status><![CDATA[send success]]></Status><TotalCount>120</TotalCount><FilterCount>20</FilterCount>"
            f"<SentCount>98</SentCount><ErrorCount>2</ErrorCount></xml>")


async def test_accepted_consents_are_counted_once_per_popup(start_bot, redis):
    client = await start_bot()
    peer = WeChatPeer(client)
    await peer.follow("o_fan")
    popup = popup_xml("o_fan", [("SUB_EVENT", "accept"), ("SUB_GIFT", "reject")], 1_700_000_100)
    answers = await asyncio.gather(peer.post(popup), peer.post(popup))      # WeChat retried the event
    assert {a.body for a in answers} == {"success"}
    await peer.post(popup_xml("o_fan", [("SUB_EVENT", "accept")], 1_700_000_200))
    member_id = await redis.get("idx:openid:o_fan")
    assert await redis.hgetall(f"{{m:{member_id}}}:consents") == {"SUB_EVENT": "2"}


async def test_mass_job_report_is_stored_and_two_jobs_in_one_second_stay_apart(start_bot, redis):
    peer = WeChatPeer(await start_bot())
    await peer.post(mass_report_xml("1000001", 1_700_000_000))
    await peer.post(mass_report_xml("1000002", 1_700_000_000))
    assert await redis.hgetall("push:job:1000001") | {"reported_at": ""} == {
        "event": "masssendjobfinish", "status": "send success", "total": "120", "filtered": "20", "sent": "98",
        "errors": "2", "reported_at": ""}
    assert await redis.exists("push:job:1000002")
    assert await redis.get("idx:openid:oSystem") is None          # a platform report makes no member


async def test_one_consent_allows_one_send(redis, clock):
    from bot.services import build_services
    from bot.sms import LogSmsSender
    services = build_services(redis, clock, b"k" * 32, LogSmsSender())
    channels = services.channels
    await channels.record_consents("100001", ["SUB_EVENT"], "evt:popup1")
    assert await channels.use_consent("100001", "SUB_EVENT", "reminder:42")
    assert await channels.use_consent("100001", "SUB_EVENT", "reminder:42")      # the same send, retried
    assert not await channels.use_consent("100001", "SUB_EVENT", "reminder:43")
    assert await channels.consents_left("100001", "SUB_EVENT") == 0
