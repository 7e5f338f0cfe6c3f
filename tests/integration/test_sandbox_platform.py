"""The sandbox as the platform: stable_token and the classic token, QR codes, media, menus, users and tags."""
from __future__ import annotations

import struct
import zlib

import aiohttp
import pytest

from bot.wechat_api import PermanentError
from wechat_sandbox.testing import SandboxError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def post(sandbox, path: str, body: dict, **query) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{sandbox.url}/cgi-bin/{path}", json=body, params=query) as response:
            return await response.json(content_type=None)


async def get(sandbox, path: str, **query) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sandbox.url}/cgi-bin/{path}", params=query) as response:
            return await response.json(content_type=None)


async def classic_token(sandbox, **changes) -> dict:
    query = {"grant_type": "client_credential", "appid": sandbox.config.appid, "secret": sandbox.config.appsecret,
             **changes}
    return await get(sandbox, "token", **{name: value for name, value in query.items() if value is not None})


async def stable_token(sandbox, force: bool = False, **changes) -> dict:
    body = {"grant_type": "client_credential", "appid": sandbox.config.appid, "secret": sandbox.config.appsecret,
            "force_refresh": force, **changes}
    return await post(sandbox, "stable_token", body)


# -- stable_token and access tokens --------------------------------------------------------------------------
async def test_stable_token_checks_the_credentials(sandbox):
    assert (await stable_token(sandbox, appid="wx-someone-else"))["errcode"] == 40013
    assert (await stable_token(sandbox, secret="guessed"))["errcode"] == 40125
    assert (await stable_token(sandbox, grant_type="password"))["errcode"] == 40002


async def test_normal_mode_returns_the_same_token_while_valid_and_a_new_one_in_its_last_5_minutes(sandbox):
    first = await stable_token(sandbox)
    await sandbox.client.advance(3600)
    same = await stable_token(sandbox)
    await sandbox.client.advance(3400)
    renewed = await stable_token(sandbox)

    assert first["expires_in"] == 7200 and same["access_token"] == first["access_token"]
    assert same["expires_in"] in (3599, 3600)
    assert renewed["access_token"] != first["access_token"] and renewed["expires_in"] == 7200
    for token in (first, renewed):                      # both work during the hand-over
        assert (await post(sandbox, "menu/create", MENU, access_token=token["access_token"]))["errcode"] == 0


async def test_force_refresh_revokes_the_old_token_and_is_spaced_30_s_and_20_a_day(sandbox):
    await sandbox.move_to_morning()                     # the 20 forces below span 10 minutes of one day
    old = (await stable_token(sandbox))["access_token"]
    new = (await stable_token(sandbox, force=True))["access_token"]
    too_soon = (await stable_token(sandbox, force=True))["access_token"]

    assert new != old and too_soon == new
    assert (await post(sandbox, "menu/create", MENU, access_token=old))["errcode"] == 40001
    for _ in range(19):
        await sandbox.client.advance(31)
        assert "access_token" in await stable_token(sandbox, force=True)
    await sandbox.client.advance(31)
    assert (await stable_token(sandbox, force=True))["errcode"] == 45009


async def test_every_api_call_needs_a_valid_unexpired_token(sandbox):
    token = (await stable_token(sandbox))["access_token"]

    assert (await post(sandbox, "menu/create", MENU))["errcode"] == 41001
    assert (await post(sandbox, "menu/create", MENU, access_token="1_forged"))["errcode"] == 40001
    await sandbox.client.advance(7200)
    assert (await post(sandbox, "menu/create", MENU, access_token=token))["errcode"] == 42001


# -- the classic /cgi-bin/token -----------------------------------------------------------------------------
@pytest.mark.parametrize("changes, errcode", [
    ({"grant_type": "authorization_code"}, 40002),
    ({"grant_type": None}, 40002),
    ({"appid": None}, 41002),
    ({"appid": "wx-someone-else"}, 40013),
    ({"secret": None}, 41004),
    ({"secret": "guessed"}, 40125),
])
async def test_the_classic_token_checks_the_credentials(sandbox, changes, errcode):
    answer = await classic_token(sandbox, **changes)

    assert answer["errcode"] == errcode and "access_token" not in answer
    assert [c["errcode"] for c in await sandbox.client.calls("token")] == [errcode]


async def test_each_classic_token_call_replaces_the_last_token_which_works_5_more_minutes(sandbox):
    first = await classic_token(sandbox)
    second = await classic_token(sandbox)
    await sandbox.client.advance(299)
    first_in_overlap = await post(sandbox, "menu/create", MENU, access_token=first["access_token"])
    await sandbox.client.advance(1)
    first_after = await post(sandbox, "menu/create", MENU, access_token=first["access_token"])
    second_after = await post(sandbox, "menu/create", MENU, access_token=second["access_token"])

    assert first["expires_in"] == second["expires_in"] == 7200
    assert first["access_token"] != second["access_token"] and len(second["access_token"]) >= 100
    assert (first_in_overlap["errcode"], first_after["errcode"], second_after["errcode"]) == (0, 40001, 0)


async def test_classic_and_stable_tokens_do_not_replace_each_other(sandbox):
    stable = (await stable_token(sandbox))["access_token"]
    replaced = (await classic_token(sandbox))["access_token"]
    classic = (await classic_token(sandbox))["access_token"]
    await sandbox.client.advance(301)
    after_classic_calls = [await post(sandbox, "menu/create", MENU, access_token=t) for t in (stable, replaced)]
    await stable_token(sandbox, force=True)
    after_force = [await post(sandbox, "menu/create", MENU, access_token=t) for t in (stable, classic)]

    assert [a["errcode"] for a in after_classic_calls] == [0, 40001]
    assert [a["errcode"] for a in after_force] == [40001, 0]
    assert (await stable_token(sandbox))["access_token"] != stable


async def test_the_classic_token_has_its_own_daily_quota(sandbox):
    await sandbox.move_to_morning()
    await sandbox.client.daily_limit("token", 2)

    answers = [await classic_token(sandbox) for _ in range(3)]

    assert ["access_token" in a for a in answers] == [True, True, False] and answers[2]["errcode"] == 45009
    assert "access_token" in await stable_token(sandbox)


# -- QR codes --------------------------------------------------------------------------------------------------
def decode_png(data: bytes) -> tuple[int, int, list[list[int]]]:
    """(width, height, rows of 1 = dark) for the 1-bit greyscale PNGs segno writes."""
    assert data[:8] == PNG_SIGNATURE
    chunks, pos = {}, 8
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunks[kind] = chunks.get(kind, b"") + data[pos + 8:pos + 8 + length]
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (1, 0)
    raw, stride = zlib.decompress(chunks[b"IDAT"]), (width + 7) // 8
    assert len(raw) == height * (stride + 1)
    rows, previous = [], bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        assert kind in (0, 2)                                # none, up
        line = bytes((a + b) & 0xFF for a, b in zip(line, previous)) if kind == 2 else line
        rows.append([1 - (line[x // 8] >> (7 - x % 8) & 1) for x in range(width)])
        previous = line
    return width, height, rows


async def test_a_temporary_qr_code_shows_as_a_png_with_finder_patterns(sandbox, wechat_api):
    qrcode = await wechat_api.create_temporary_qrcode("ref:M000123", 7 * 86400)

    async with aiohttp.ClientSession() as session:
        async with session.get(wechat_api.qrcode_image_url(qrcode.ticket)) as response:
            assert response.status == 200 and response.content_type == "image/png"
            width, height, rows = decode_png(await response.read())

    scale, border = 6, 2                                       # how the sandbox draws them
    modules = width // scale - 2 * border
    assert width == height and width % scale == 0 and (modules - 17) % 4 == 0
    module = lambda x, y: rows[(y + border) * scale + scale // 2][(x + border) * scale + scale // 2]  # noqa: E731
    assert rows[0][0] == 0                                     # the quiet zone is light
    assert [module(i, 0) for i in range(8)] == [1, 1, 1, 1, 1, 1, 1, 0]    # a finder pattern's edge
    assert [module(i, 3) for i in range(7)] == [1, 0, 1, 1, 1, 0, 1]
    assert qrcode.url.startswith("http://weixin.qq.com/q/") and not qrcode.permanent


async def test_a_temporary_qr_code_expires(sandbox, wechat_api):
    temporary = await wechat_api.create_temporary_qrcode("event:spring", 60)
    permanent = await wechat_api.create_permanent_qrcode("store:A12")
    member = await sandbox.client.add_member(nickname="Scanner")
    await sandbox.client.advance(61)

    async with aiohttp.ClientSession() as session:
        async with session.get(wechat_api.qrcode_image_url(temporary.ticket)) as expired:
            assert expired.status == 404
        await sandbox.client.advance(365 * 86400)
        async with session.get(wechat_api.qrcode_image_url(permanent.ticket)) as kept:
            assert kept.status == 200
    with pytest.raises(SandboxError) as refused:
        await sandbox.client.scan(member["openid"], ticket=temporary.ticket)
    assert refused.value.status == 400 and "expired" in str(refused.value)
    assert permanent.permanent


async def test_qr_code_limits(sandbox, wechat_api):
    token = (await stable_token(sandbox))["access_token"]
    long_scene = {"action_name": "QR_STR_SCENE", "expire_seconds": 60,
                  "action_info": {"scene": {"scene_str": "x" * 65}}}
    too_long = {"action_name": "QR_STR_SCENE", "expire_seconds": 40 * 86400,
                "action_info": {"scene": {"scene_str": "x"}}}

    assert (await post(sandbox, "qrcode/create", long_scene, access_token=token))["errcode"] == 40053
    assert (await post(sandbox, "qrcode/create", too_long, access_token=token))["expire_seconds"] == 2_592_000
    with pytest.raises(ValueError):
        await wechat_api.create_temporary_qrcode("x" * 65, 60)
    with pytest.raises(ValueError):
        await wechat_api.create_temporary_qrcode("x", 2_592_001)


# -- media --------------------------------------------------------------------------------------------------------
TINY_PNG = PNG_SIGNATURE + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


async def test_uploaded_images_can_be_sent_and_are_kept_for_the_chat_page(sandbox, wechat_api):
    member = await sandbox.client.add_member(nickname="Pic", follow=True)
    media_id = await wechat_api.upload_media("image", "coupon.png", TINY_PNG)

    await wechat_api.send_custom(member["openid"], {"msgtype": "image", "image": {"media_id": media_id}})

    [sent] = await sandbox.client.delivered(member["openid"], "custom")
    assert sent["message"] == {"msgtype": "image", "image": {"media_id": media_id}}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sandbox.url}/sandbox/media/{media_id}") as response:
            assert await response.read() == TINY_PNG
    with pytest.raises(PermanentError) as raised:
        await wechat_api.upload_media("image", "notes.png", b"not an image")
    assert raised.value.errcode == 40005


# -- menus ----------------------------------------------------------------------------------------------------------
MENU = {"button": [
    {"type": "click", "name": "我的积分", "key": "MY_POINTS"},
    {"name": "会员", "sub_button": [
        {"type": "click", "name": "我的优惠券", "key": "MY_COUPONS"},
        {"type": "view", "name": "商场活动", "url": "https://mall.example.com/events"},
    ]},
    {"type": "click", "name": "会员码", "key": "MEMBER_CODE"},
]}


async def test_a_menu_round_trips_and_shows_on_the_chat_page(sandbox, wechat_api):
    assert await wechat_api.get_menu() is None

    await wechat_api.create_menu(MENU)

    got = await wechat_api.get_menu()
    assert [b["name"] for b in got["menu"]["button"]] == ["我的积分", "会员", "会员码"]
    assert got["menu"]["button"][0]["sub_button"] == [] and len(got["menu"]["button"][1]["sub_button"]) == 2
    assert (await sandbox.client.menu())["button"][1]["sub_button"][1]["type"] == "view"


@pytest.mark.parametrize("menu, errcode", [
    ({"button": [{"type": "click", "name": f"B{n}", "key": f"K{n}"} for n in range(4)]}, 40016),
    ({"button": []}, 40016),
    ({"button": [{"name": "多", "sub_button": [{"type": "click", "name": f"S{n}", "key": f"K{n}"}
                                               for n in range(6)]}]}, 40023),
    ({"button": [{"type": "click", "name": "一个很长很长的菜单名字", "key": "K"}]}, 40018),
    ({"button": [{"type": "click", "name": "无键"}]}, 40019),
    ({"button": [{"type": "teleport", "name": "坏类型", "key": "K"}]}, 40017),
    ({"button": [{"name": "子", "sub_button": [{"type": "view", "name": "坏链接", "url": "ftp://x"}]}]}, 40027),
])
async def test_invalid_menus_are_refused(sandbox, wechat_api, menu, errcode):
    with pytest.raises(PermanentError) as raised:
        await wechat_api.create_menu(menu)

    assert raised.value.errcode == errcode
    assert await wechat_api.get_menu() is None


# -- users and tags ----------------------------------------------------------------------------------------------
async def test_user_info_reports_following_the_qr_scene_and_tags(sandbox, wechat_api):
    member = await sandbox.client.add_member(nickname="Carol")
    await sandbox.client.scan(member["openid"], scene="ref:M000007")
    tag = await wechat_api.create_tag("亲子会员")
    await wechat_api.tag_members(tag.id, [member["openid"]])

    info = await wechat_api.user_info(member["openid"])
    await sandbox.client.unfollow(member["openid"])
    gone = await wechat_api.user_info(member["openid"])

    assert info.subscribed and info.qr_scene_str == "ref:M000007" and info.tag_ids == (tag.id,)
    assert info.subscribe_scene == "ADD_SCENE_QR_CODE" and info.subscribe_time
    assert not gone.subscribed and gone.subscribe_time is None


async def test_tags_batch_50_at_a_time_and_page_their_members(sandbox, wechat_api):
    openids = await sandbox.client.add_followers(120, prefix="oTagged")
    tag = await wechat_api.create_tag("周末活动群")

    await wechat_api.tag_members(tag.id, openids)

    page = await wechat_api.members_of_tag(tag.id)
    assert page.openids == tuple(openids) and page.next_openid == openids[-1]
    assert (await wechat_api.members_of_tag(tag.id, page.next_openid)).openids == ()
    assert [c["detail"]["count"] for c in await sandbox.client.calls("tags/members/batchtagging")] == [50, 50, 20]
    assert [(t.name, t.count) for t in await wechat_api.get_tags()] == [("周末活动群", 120)]
    await wechat_api.untag_members(tag.id, openids[:100])
    assert await wechat_api.tags_of(openids[0]) == [] and await wechat_api.tags_of(openids[-1]) == [tag.id]


async def test_tag_limits(sandbox, wechat_api):
    [openid] = await sandbox.client.add_followers(1)
    tags = [await wechat_api.create_tag(f"兴趣{n}") for n in range(100)]
    with pytest.raises(PermanentError) as too_many:
        await wechat_api.create_tag("第101个")
    for tag in tags[:20]:
        await wechat_api.tag_members(tag.id, [openid])
    with pytest.raises(PermanentError) as member_full:
        await wechat_api.tag_members(tags[20].id, [openid])
    with pytest.raises(PermanentError) as duplicate:
        await wechat_api.update_tag(tags[1].id, "兴趣0")

    await wechat_api.delete_tag(tags[0].id)
    await wechat_api.tag_members(tags[20].id, [openid])

    assert (too_many.value.errcode, member_full.value.errcode, duplicate.value.errcode) == (45056, 45059, 45157)
    assert len(await wechat_api.tags_of(openid)) == 20


async def test_the_follower_list_pages_10000_at_a_time_in_follow_order(sandbox):
    openids = await sandbox.client.add_followers(10_003, prefix="oFan")
    await sandbox.client.unfollow(openids[5])
    token = (await stable_token(sandbox))["access_token"]
    followers = [o for o in openids if o != openids[5]]

    first = await get(sandbox, "user/get", access_token=token)
    last = await get(sandbox, "user/get", access_token=token, next_openid=first["next_openid"])
    after_last = await get(sandbox, "user/get", access_token=token, next_openid=last["next_openid"])

    assert (first["total"], first["count"], first["next_openid"]) == (10_002, 10_000, followers[9_999])
    assert first["data"]["openid"] == followers[:10_000]
    assert last == {"total": 10_002, "count": 2, "data": {"openid": followers[10_000:]}, "next_openid": followers[-1]}
    assert after_last == {"total": 10_002, "count": 0, "next_openid": ""}


async def test_an_account_without_followers_lists_none_and_a_stranger_is_no_place_to_start(sandbox):
    token = (await stable_token(sandbox))["access_token"]
    stranger = await sandbox.client.add_member(nickname="路人")

    assert await get(sandbox, "user/get", access_token=token) == {"total": 0, "count": 0, "next_openid": ""}
    assert (await get(sandbox, "user/get", access_token=token, next_openid=stranger["openid"]))["errcode"] == 40003
    assert (await get(sandbox, "user/get", access_token=token, next_openid="o-never-seen"))["errcode"] == 40003


async def test_user_info_in_batches_of_at_most_100_known_users(sandbox):
    token = (await stable_token(sandbox))["access_token"]
    openids = await sandbox.client.add_followers(101, prefix="oBatch")
    await sandbox.client.unfollow(openids[1])
    users = lambda ids: {"user_list": [{"openid": o, "lang": "zh_CN"} for o in ids]}  # noqa: E731

    batch = await post(sandbox, "user/info/batchget", users(openids[:100]), access_token=token)
    too_many = await post(sandbox, "user/info/batchget", users(openids), access_token=token)
    empty = await post(sandbox, "user/info/batchget", users([]), access_token=token)
    unknown = await post(sandbox, "user/info/batchget", users([openids[0], "o-never-seen"]), access_token=token)

    infos = batch["user_info_list"]
    assert [i["openid"] for i in infos] == openids[:100]
    assert [i["subscribe"] for i in infos[:3]] == [1, 0, 1] and infos[1] == {"subscribe": 0, "openid": openids[1],
                                                                           "tagid_list": []}
    assert (too_many["errcode"], empty["errcode"], unknown["errcode"]) == (40032, 40032, 40003)
    assert [c["detail"] for c in await sandbox.client.calls("user/info/batchget")] == [{"count": 100}, {}, {}, {}]


async def test_a_mass_send_filter_names_a_tag_by_tag_id_not_the_old_group_id(sandbox, wechat_api):
    openids = await sandbox.client.add_followers(3, prefix="oMass")
    tag = await wechat_api.create_tag("会员日")
    await wechat_api.tag_members(tag.id, openids[:2])
    token = (await stable_token(sandbox))["access_token"]
    text = {"msgtype": "text", "text": {"content": "会员日"}}

    by_group = await post(sandbox, "message/mass/sendall", {"filter": {"is_to_all": False, "group_id": tag.id},
                                                            **text}, access_token=token)
    unknown_tag = await post(sandbox, "message/mass/sendall", {"filter": {"is_to_all": False, "tag_id": 999},
                                                               **text}, access_token=token)
    by_tag = await post(sandbox, "message/mass/sendall", {"filter": {"is_to_all": False, "tag_id": tag.id}, **text},
                        access_token=token)

    assert (by_group["errcode"], unknown_tag["errcode"], by_tag["errcode"]) == (40152, 40050, 0)
    assert sorted(m["openid"] for m in await sandbox.client.all_messages(channel="mass")) == sorted(openids[:2])


# -- service notices -----------------------------------------------------------------------------------------------
async def test_a_template_added_with_its_keywords_labels_the_fields_of_its_notices(sandbox, wechat_api):
    openid = (await sandbox.client.add_member(nickname="李姐", follow=True))["openid"]
    await sandbox.client.add_template("TPL_PARKING", "停车优惠到账", keywords={"thing1": "优惠内容"})

    await wechat_api.send_template(openid, "TPL_PARKING", {"thing1": {"value": "免费停车 2 小时"},
                                                           "time2": {"value": "今日"}})

    [sent] = await sandbox.client.delivered(openid, "template")
    assert sent["message"]["notice"] == {"title": "停车优惠到账", "details": False, "fields": [
        {"label": "优惠内容", "value": "免费停车 2 小时"}, {"label": "time2", "value": "今日"}]}
    assert (await sandbox.client.request("GET", "/sandbox/templates"))["keywords"]["TPL_PARKING"] == {
        "thing1": "优惠内容"}
