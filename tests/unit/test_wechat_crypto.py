"""Signatures and safe-mode envelopes, against Tencent's published sample and our own round trips."""
import base64

import pytest
from wechatpy.crypto import WeChatCrypto

from bot.inbound import Inbound, parse_fields
from bot.wechat_crypto import CallbackRejected, SafeModeCrypto, check_signature, signature

TOKEN = "spamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"
TIMESTAMP, NONCE = "1409735669", "1320562132"
MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9"
    "FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3y"
    "t+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v"
    "6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)


def test_tencent_sample_signature():
    assert signature(TOKEN, TIMESTAMP, NONCE, ENCRYPT) == MSG_SIGNATURE


def test_tencent_sample_decrypts_to_the_documented_message():
    xml = SafeModeCrypto(TOKEN, AES_KEY, APPID).decrypt(ENCRYPT, MSG_SIGNATURE, TIMESTAMP, NONCE)
    message = Inbound.from_fields(parse_fields(xml))
    assert (message.msg_type, message.content, message.msg_id) == ("text", "abcdteT", "6054768590064713728")
    assert message.openid == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def test_tencent_sample_with_another_appid_is_rejected():
    with pytest.raises(CallbackRejected) as rejected:
        SafeModeCrypto(TOKEN, AES_KEY, "wx0000000000000000").decrypt(ENCRYPT, MSG_SIGNATURE, TIMESTAMP, NONCE)
    assert rejected.value.status == 403


def test_tampered_signature_is_rejected():
    with pytest.raises(CallbackRejected):
        SafeModeCrypto(TOKEN, AES_KEY, APPID).decrypt(ENCRYPT, "0" * 40, TIMESTAMP, NONCE)


def test_plain_signature_check():
    good = signature(TOKEN, TIMESTAMP, NONCE)
    check_signature(good, TOKEN, TIMESTAMP, NONCE)
    check_signature(good.upper(), TOKEN, TIMESTAMP, NONCE)
    with pytest.raises(CallbackRejected):
        check_signature(good, TOKEN, TIMESTAMP, "other-nonce")


def test_our_encrypted_reply_opens_with_wechatpy():
    ours = SafeModeCrypto(TOKEN, AES_KEY, APPID)
    reply = "<xml><Content><![CDATA[您好，积分 1,200]]></Content></xml>"
    envelope = ours.encrypt(reply, TIMESTAMP, NONCE)
    fields = parse_fields(envelope.encode())
    opened = WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(envelope, fields["MsgSignature"],
                                                                 fields["TimeStamp"], fields["Nonce"])
    assert opened == reply


def test_wechatpy_encryption_opens_with_ours():
    theirs = WeChatCrypto(TOKEN, AES_KEY, APPID)
    message = "<xml><MsgType>text</MsgType><Content>往返</Content></xml>"
    fields = parse_fields(theirs.encrypt_message(message, NONCE, TIMESTAMP).encode())
    opened = SafeModeCrypto(TOKEN, AES_KEY, APPID).decrypt(fields["Encrypt"], fields["MsgSignature"],
                                                           TIMESTAMP, NONCE)
    assert opened.decode() == message


@pytest.mark.parametrize("garbage, reason", [
    ("not base64 at all!", "not base64"),
    (ENCRYPT[:-1], "not base64"),                                    # truncated: base64 padding broken
    (ENCRYPT[:-8], "bad length"),                                    # truncated on a base64 boundary
    (base64.b64encode(b"x" * 20).decode(), "bad length"),            # not a whole number of blocks
    (base64.b64encode(b"\x00" * 64).decode(), "bad padding"),        # decrypts to garbage padding
])
def test_garbage_ciphertext_gives_a_clear_rejection(garbage, reason):
    crypto = SafeModeCrypto(TOKEN, AES_KEY, APPID)
    with pytest.raises(CallbackRejected) as rejected:
        crypto.decrypt(garbage, signature(TOKEN, TIMESTAMP, NONCE, garbage), TIMESTAMP, NONCE)
    assert reason in rejected.value.reason
    assert rejected.value.status == 400
