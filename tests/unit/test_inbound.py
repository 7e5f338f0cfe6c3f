import hashlib

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
    digest = hashlib.sha256(b"o1:17:subscribe:qrscene_ref:100001").hexdigest()[:32]
    assert message.delivery_key == f"evt:{digest}"           # no openid in the keys it names
    assert message.scene == "ref:100001"


def click(key: str, create_time: int = 17) -> Inbound:
    return Inbound.from_fields(parse_fields(
        f"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType>event</MsgType><Event>CLICK</Event><EventKey>{key}</EventKey></xml>".encode()))


def test_two_menu_taps_in_one_second_are_two_deliveries_and_a_retry_is_one():
    assert click("MY_POINTS").delivery_key != click("MY_TIER").delivery_key
    assert click("MY_POINTS").delivery_key == click("MY_POINTS").delivery_key
    assert click("MY_POINTS").delivery_key != click("MY_POINTS", create_time=18).delivery_key


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


POPUP = (b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>17</CreateTime>"
         b"<MsgType>event</MsgType><Event>subscribe_msg_popup_event</Event><SubscribeMsgPopupEvent>"
         b"<List><TemplateId>T1</TemplateId><SubscribeStatusString>accept</SubscribeStatusString>"
         b"<PopupScene>2</PopupScene></List><List><TemplateId>T2</TemplateId>"
         b"<SubscribeStatusString>reject</SubscribeStatusString><PopupScene>2</PopupScene></List>"
         b"</SubscribeMsgPopupEvent></xml>")


def test_repeated_nested_groups_are_kept():
    message = Inbound.from_fields(parse_fields(POPUP))
    assert [(g["TemplateId"], g["SubscribeStatusString"]) for g in message.groups("SubscribeMsgPopupEvent")] == [
        ("T1", "accept"), ("T2", "reject")]


def test_a_single_nested_group_is_a_dict_of_leaves():
    fields = parse_fields(b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
                          b"<MsgType>event</MsgType><Event>scancode_push</Event><ScanCodeInfo><ScanType>qrcode"
                          b"</ScanType><ScanResult>abc</ScanResult></ScanCodeInfo></xml>")
    assert fields["ScanCodeInfo"] == {"ScanType": "qrcode", "ScanResult": "abc"}


def test_job_reports_are_deduplicated_by_their_job_id():
    fields = parse_fields(b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
                          b"<MsgType>event</MsgType><Event>MASSSENDJOBFINISH</Event><MsgID>1000001625</MsgID>"
                          b"<Status>send success</Status><TotalCount>3</TotalCount></xml>")
    assert Inbound.from_fields(fields).delivery_key == "job:masssendjobfinish:1000001625"


def test_a_nested_element_where_text_is_required_is_malformed():
    with pytest.raises(MalformedMessage, match="MsgType"):
        Inbound.from_fields(parse_fields(b"<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName>"
                                         b"<CreateTime>1</CreateTime><MsgType><a>b</a></MsgType></xml>"))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_dtds_are_refused_in_other_encodings_too(encoding):
    body = XXE.decode().replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    with pytest.raises(MalformedMessage):
        parse_fields(body.encode(encoding))


def test_a_message_that_quotes_a_doctype_in_its_text_is_fine():
    body = TEXT.replace("\xe7\xa7\xaf\xe5\x88\x86".encode("latin-1"), b"<!DOCTYPE x>")
    assert parse_fields(body)["Content"] == "<!DOCTYPE x>"
