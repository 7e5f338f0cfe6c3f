"""The sandbox's quotas, seen through WeChatApi: customer-service windows per action, mass sends per month."""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.wechat_api import NotFollowing, OutsideWindow, PermanentError, WindowUsedUp
from wechat_sandbox.callbacks import flat_fields

TEXT = {"msgtype": "text", "text": {"content": "会员日双倍积分"}}
HOUR, DAY = 3600, 86400


async def member(sandbox, nickname: str = "Bob") -> str:
    """A follower who has done nothing yet: no customer-service window."""
    return (await sandbox.client.add_member(nickname=nickname, follow=True, notify=False))["openid"]


async def send_n(api, openid: str, n: int) -> None:
    for _ in range(n):
        await api.send_custom(openid, TEXT)


# -- customer-service messages ----------------------------------------------------------------------------
async def test_no_action_no_window(sandbox, wechat_api):
    openid = await member(sandbox)

    with pytest.raises(OutsideWindow) as raised:
        await wechat_api.send_custom(openid, TEXT)

    assert raised.value.errcode == 45015


async def test_a_message_from_the_member_allows_5_messages_within_48_hours(sandbox, wechat_api):
    openid = await member(sandbox)
    await sandbox.client.text(openid, "积分")
    await sandbox.client.advance(47 * HOUR)

    await send_n(wechat_api, openid, 5)
    with pytest.raises(WindowUsedUp) as raised:
        await wechat_api.send_custom(openid, TEXT)

    assert raised.value.errcode == 45047
    assert len(await sandbox.client.delivered(openid, "custom")) == 5


async def test_the_48_hour_window_closes(sandbox, wechat_api):
    openid = await member(sandbox)
    await sandbox.client.text(openid, "积分")
    await send_n(wechat_api, openid, 2)
    await sandbox.client.advance(48 * HOUR + 1)

    with pytest.raises(OutsideWindow):
        await wechat_api.send_custom(openid, TEXT)


@pytest.mark.parametrize("action", ["click", "follow", "scan"])
async def test_a_click_follow_or_scan_allows_3_messages_within_1_minute(sandbox, wechat_api, action):
    openid = await member(sandbox)
    if action == "click":
        await sandbox.client.click(openid, "MY_POINTS")
    elif action == "follow":
        await sandbox.client.unfollow(openid)
        await sandbox.client.follow(openid)
    else:
        await sandbox.client.scan(openid, scene="store:A12")

    await send_n(wechat_api, openid, 3)
    with pytest.raises(WindowUsedUp):
        await wechat_api.send_custom(openid, TEXT)
    await sandbox.client.advance(61)
    with pytest.raises(OutsideWindow):
        await wechat_api.send_custom(openid, TEXT)


async def test_the_latest_action_resets_the_quota_and_quotas_do_not_add_up(sandbox, wechat_api):
    openid = await member(sandbox)
    await sandbox.client.text(openid, "在吗")
    await send_n(wechat_api, openid, 5)
    await sandbox.client.click(openid, "MY_POINTS")             # a fresh quota: 3 in 1 minute

    await send_n(wechat_api, openid, 3)
    with pytest.raises(WindowUsedUp):
        await wechat_api.send_custom(openid, TEXT)
    await sandbox.client.text(openid, "还在吗")                  # back to 5 in 48 h
    await send_n(wechat_api, openid, 5)
    await sandbox.client.click(openid, "MY_POINTS")             # replaces the 48 h window with 1 minute
    await sandbox.client.advance(61)

    with pytest.raises(OutsideWindow):
        await wechat_api.send_custom(openid, TEXT)
    assert len(await sandbox.client.delivered(openid, "custom")) == 13


async def test_a_link_tap_opens_no_window(sandbox, wechat_api):
    openid = await member(sandbox)
    await sandbox.client.view(openid, "https://mall.example.com/events")

    with pytest.raises(OutsideWindow):
        await wechat_api.send_custom(openid, TEXT)


async def test_unfollowing_closes_everything(sandbox, wechat_api):
    openid = await member(sandbox)
    await sandbox.client.text(openid, "再见")
    await sandbox.client.unfollow(openid)

    with pytest.raises(NotFollowing):
        await wechat_api.send_custom(openid, TEXT)
    with pytest.raises(NotFollowing):
        await wechat_api.send_template(openid, "TPL_POINTS_CHANGED", {"thing1": {"value": "x"}})


async def test_with_quotas_off_any_follower_can_be_messaged(sandbox, wechat_api):
    openid = await member(sandbox)
    await sandbox.client.settings(quotas=False)

    await send_n(wechat_api, openid, 10)

    assert len(await sandbox.client.delivered(openid, "custom")) == 10


# -- mass sends --------------------------------------------------------------------------------------------------
async def tagged_members(sandbox, api, count: int, tag: str = "金卡会员") -> tuple[int, list[str]]:
    openids = [await member(sandbox, f"M{n}") for n in range(count)]
    created = await api.create_tag(tag)
    await api.tag_members(created.id, openids)
    return created.id, openids


def mass_text(n: int) -> dict:
    return {"msgtype": "text", "text": {"content": f"三月会员活动 第{n}期"}}


async def test_each_member_receives_at_most_4_mass_messages_a_calendar_month(sandbox, wechat_api, bot_stub):
    await sandbox.client.settings(bot_callback_url=bot_stub.url)
    await sandbox.client.advance(await _seconds_to_next_month(sandbox))
    tag_id, openids = await tagged_members(sandbox, wechat_api, 3)
    for n in range(4):
        await wechat_api.mass_send_to_tag(tag_id, mass_text(n), clientmsgid=f"spring-{n}")
    newcomer = await member(sandbox, "Newcomer")
    await wechat_api.tag_members(tag_id, [newcomer])

    fifth = await wechat_api.mass_send_to_tag(tag_id, mass_text(4), clientmsgid="spring-4")
    await sandbox.client.settle()

    finished = [_fields(r) for r in bot_stub.requests if b"MASSSENDJOBFINISH" in r.body]
    assert [f["TotalCount"] for f in finished] == ["3", "3", "3", "3", "4"]
    assert finished[-1].items() >= {"MsgID": str(fifth.msg_id), "FilterCount": "1", "SentCount": "1",
                                    "ErrorCount": "0", "Status": "send success"}.items()
    assert [len(await sandbox.client.delivered(o, "mass")) for o in openids + [newcomer]] == [4, 4, 4, 1]

    await sandbox.client.advance(31 * DAY)                      # next month: allowed again
    await wechat_api.mass_send_to_tag(tag_id, mass_text(5), clientmsgid="april-1")
    assert [len(await sandbox.client.delivered(o, "mass")) for o in openids] == [5, 5, 5]


async def test_a_repeated_clientmsgid_returns_the_first_msg_id_and_sends_nothing(sandbox, wechat_api):
    tag_id, openids = await tagged_members(sandbox, wechat_api, 2)

    first = await wechat_api.mass_send_to_tag(tag_id, mass_text(1), clientmsgid="campaign-42")
    again = await wechat_api.mass_send_to_tag(tag_id, mass_text(1), clientmsgid="campaign-42")
    by_list = await wechat_api.mass_send_to_openids(openids, mass_text(1), clientmsgid="campaign-42")

    assert not first.duplicate and again.duplicate and by_list.duplicate
    assert first.msg_id == again.msg_id == by_list.msg_id
    assert [len(await sandbox.client.delivered(o, "mass")) for o in openids] == [1, 1]
    assert len(await sandbox.client.callbacks(event="MASSSENDJOBFINISH")) == 1


async def test_mass_send_to_an_openid_list_skips_non_followers(sandbox, wechat_api):
    openids = [await member(sandbox, f"L{n}") for n in range(3)]
    await sandbox.client.unfollow(openids[2])

    result = await wechat_api.mass_send_to_openids(openids + ["o-unknown-member-0001"], mass_text(1),
                                                   clientmsgid="list-1")
    await sandbox.client.settle()

    [finished] = await sandbox.client.callbacks(event="MASSSENDJOBFINISH")
    assert finished["fields"]["MsgID"] == result.msg_id
    assert (finished["fields"]["TotalCount"], finished["fields"]["FilterCount"]) == (4, 2)
    with pytest.raises(ValueError):
        await wechat_api.mass_send_to_openids(openids[:1], mass_text(1), clientmsgid="list-2")


async def test_mass_send_to_all_reaches_every_follower(sandbox, wechat_api):
    openids = [await member(sandbox, f"A{n}") for n in range(3)]

    await wechat_api.mass_send_to_all(mass_text(1), clientmsgid="all-1")

    assert [len(await sandbox.client.delivered(o, "mass")) for o in openids] == [1, 1, 1]


async def test_at_most_60_mass_calls_a_minute(sandbox, wechat_api):
    tag_id, _ = await tagged_members(sandbox, wechat_api, 1)
    for n in range(60):
        await wechat_api.mass_send_to_tag(tag_id, mass_text(n), clientmsgid=f"burst-{n}")

    with pytest.raises(PermanentError) as raised:
        await wechat_api.mass_send_to_tag(tag_id, mass_text(60), clientmsgid="burst-60")
    await sandbox.client.advance(60)
    await wechat_api.mass_send_to_tag(tag_id, mass_text(61), clientmsgid="burst-61")

    assert raised.value.errcode == 45011


def _fields(request) -> dict[str, str]:
    return flat_fields(request.body)


async def _seconds_to_next_month(sandbox) -> float:
    """To the 2nd of next month, 10:00, so that the test's sends all fall in one calendar month."""
    local = datetime.fromisoformat((await sandbox.client.clock())["local"])
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    target = local.replace(year=year, month=month, day=2, hour=10, minute=0, second=0, microsecond=0)
    return (target - local).total_seconds()
