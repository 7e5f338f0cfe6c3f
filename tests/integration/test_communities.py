"""Communities with the bot and the sandbox wired together: a community is a WeChat tag mirrored in Redis,
created by staff through the admin API, joined and left by members in chat, within the platform's limits."""
from __future__ import annotations

import pytest

from bot.app_keys import SERVICES
from loyalty_core import errors, keys
from loyalty_core.communities import COMMUNITIES_PER_ACCOUNT, COMMUNITIES_PER_MEMBER
from tests.integration.till import Till
from wechat_sandbox.api import SYSTEM_TAG_IDS


@pytest.fixture
async def mall(start_wired, clock, redis):
    wired = await start_wired()
    return wired, wired.bot.app[SERVICES], Till(wired.bot, clock).admin


async def create(admin: Till, community_id: str, name: str, description: str = "") -> dict:
    answer = await admin.post("/api/v1/admin/communities",
                              {"community_id": community_id, "name": name, "description": description})
    assert answer.status == 201, answer.json
    return answer.json["community"]


def tag_of(wired, tag_id: int) -> set[str]:
    return set(wired.sandbox.state.account.tags[tag_id].members)


async def test_staff_create_a_community_as_a_tag_and_members_join_and_leave_it_in_chat(mall, redis):
    wired, services, admin = mall
    yoga = await create(admin, "yoga", "瑜伽社", "每周六早晨一起练习")
    await create(admin, "wine", "品酒会")
    assert yoga["number"] == 1 and yoga["name"] in {t.name for t in wired.sandbox.state.account.tags.values()}
    openid = await wired.join("小林")
    listing = await wired.say(openid, "社群")
    assert "1. 瑜伽社 — 每周六早晨一起练习" in listing and "2. 品酒会" in listing
    assert "欢迎加入「瑜伽社」" in await wired.say(openid, "加入 1")
    assert "已经是「瑜伽社」的成员" in await wired.say(openid, "加入 瑜伽社")
    assert "欢迎加入「品酒会」" in await wired.say(openid, "加入 品酒会")
    member_id = await services.members.member_id_for_openid(openid)
    assert await redis.smembers(keys.member_communities(member_id)) == {"yoga", "wine"}
    assert await redis.smembers(keys.community_members("yoga")) == {member_id}
    assert tag_of(wired, yoga["tag_id"]) == {openid}
    assert "· 瑜伽社" in await wired.say(openid, "我的社群")
    assert "已退出「瑜伽社」" in await wired.say(openid, "退出 瑜伽社")
    assert tag_of(wired, yoga["tag_id"]) == set()
    assert await redis.smembers(keys.community_members("yoga")) == set()
    assert "您不在「瑜伽社」里" in await wired.say(openid, "退出 瑜伽社")
    assert "没有找到这个社群" in await wired.say(openid, "加入 9")


async def test_the_admin_api_names_managers_and_shows_the_count(mall):
    wired, services, admin = mall
    await create(admin, "parents", "亲子会")
    manager, members = await wired.join("社群小助手"), [await wired.join(f"家长{n}") for n in range(3)]
    for openid in members:
        await wired.say(openid, "加入 亲子会")
    answer = await admin.post("/api/v1/admin/communities/parents/managers", {"openid": manager})
    assert answer.status == 200, answer.json
    again = await admin.post("/api/v1/admin/communities/parents/managers", {"openid": manager})
    assert again.json == answer.json
    shown = (await admin.get("/api/v1/admin/communities/parents")).json["community"]
    assert shown["members"] == 3 and shown["managers"] == [manager]
    assert (await admin.post("/api/v1/admin/communities/parents/managers", {"openid": "o_nobody"})).status == 404
    assert (await admin.get("/api/v1/admin/communities/nope")).status == 404


async def test_creating_again_returns_the_community_and_a_clash_is_refused(mall):
    wired, services, admin = mall
    first = await create(admin, "art", "艺术沙龙")
    assert await create(admin, "art", "艺术沙龙") == first
    assert len(wired.sandbox.state.account.tags) == 1 + len(_system_tags(wired))
    clash = await admin.post("/api/v1/admin/communities", {"community_id": "art2", "name": "艺术沙龙"})
    renamed = await admin.post("/api/v1/admin/communities", {"community_id": "art", "name": "画展"})
    assert (clash.status, clash.error) == (409, "community_conflict")
    assert (renamed.status, renamed.error) == (409, "community_conflict")


async def test_a_tag_made_by_a_try_that_crashed_before_it_was_recorded_is_taken_over(mall):
    wired, services, admin = mall
    tag = await services.wechat.create_tag("跑步团")
    community = await create(admin, "run", "跑步团")
    assert community["tag_id"] == tag.id


def _system_tags(wired) -> list[int]:
    return [tag_id for tag_id in wired.sandbox.state.account.tags if tag_id in SYSTEM_TAG_IDS]


async def test_an_account_holds_at_most_100_communities(mall):
    wired, services, admin = mall
    room = COMMUNITIES_PER_ACCOUNT - len(wired.sandbox.state.account.tags)
    for n in range(room):
        await services.communities.create(f"c{n}", f"社群{n}", "")
    with pytest.raises(errors.CommunityLimit):
        await services.communities.create("one-more", "再来一个", "")
    assert len(await services.communities.listing()) == room


async def test_a_member_joins_at_most_20_communities(mall):
    wired, services, admin = mall
    for n in range(COMMUNITIES_PER_MEMBER + 1):
        await services.communities.create(f"c{n}", f"社群{n}", "")
    openid = await wired.join("热心会员")
    member_id = await services.members.member_id_for_openid(openid)
    for n in range(COMMUNITIES_PER_MEMBER):
        assert (await services.communities.join(member_id, f"社群{n}")).changed
    assert "已达上限" in await wired.say(openid, f"加入 社群{COMMUNITIES_PER_MEMBER}")
    assert len(wired.sandbox.state.account.members[openid].tags) == COMMUNITIES_PER_MEMBER


async def test_a_member_whose_leave_a_crash_cut_short_is_not_in_the_audience_and_leaving_again_repairs_it(
        mall, redis):
    wired, services, admin = mall
    await create(admin, "yoga", "瑜伽社")
    stays, left = await wired.join("留下"), await wired.join("走了")
    for openid in (stays, left):
        await wired.say(openid, "加入 瑜伽社")
    stays_id, left_id = [await services.members.member_id_for_openid(o) for o in (stays, left)]
    await services.scripts.run("community_leave", [keys.member_communities(left_id)], ["yoga"])  # only the first step
    assert [m async for m in services.communities.members("yoga")] == [stays_id]
    assert "您不在「瑜伽社」里" in await wired.say(left, "退出 瑜伽社")
    assert await redis.smembers(keys.community_members("yoga")) == {stays_id}
