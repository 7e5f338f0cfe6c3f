import pytest

from bot.inbound import Inbound, MalformedMessage, parse_fields

TEXT = (b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>"
        b"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        b"<Content><![CDATA[\xe7\xa7\xaf\xe5\x88\x86]]></Content><MsgId>1234567890123456</MsgId></xml>")

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content></xml>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content></xml>"""


def test_text_message_fields():
    message = Inbound.from_fields(parse_fields(TEXT))
    assert (message.openid, message.to_user, message.msg_type, message.content) == ("o_user", "gh_1", "text", "积分")
    assert message.delivery_key == "msg:1234567890123456"


def test_event_delivery_key_and_scene():
    fields = parse_fields(b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>17"
                          b"</CreateTime><MsgType>event</MsgType><Event>subscribe</Event>"
                          b"<EventKey>qrscene_ref:100001</EventKey></xml>")
    message = Inbound.from_fields(fields)
    assert message.delivery_key == "evt:o1:17:subscribe"
    assert message.scene == "ref:100001"


def test_scan_event_scene_has_no_prefix():
    fields = parse_fields(b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>17"
                          b"</CreateTime><MsgType>event</MsgType><Event>SCAN</Event><EventKey>ref:9</EventKey></xml>")
    assert Inbound.from_fields(fields).scene == "ref:9"


@pytest.mark.parametrize("body", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_dtds_are_refused(body):
    with pytest.raises(MalformedMessage, match="forbidden"):
        parse_fields(body)


@pytest.mark.parametrize("body", [b"", b"   ", b"<xml><a>", b"\xff\xfe<xml/>", b"<html></html>", b"plain"])
def test_unreadable_bodies_are_malformed(body):
    with pytest.raises(MalformedMessage):
        parse_fields(body)


def test_missing_required_fields():
    with pytest.raises(MalformedMessage, match="FromUserName"):
        Inbound.from_fields({"ToUserName": "gh", "CreateTime": "1", "MsgType": "text"})
    with pytest.raises(MalformedMessage, match="CreateTime"):
        Inbound.from_fields({"ToUserName": "gh", "FromUserName": "o", "CreateTime": "x", "MsgType": "text"})
