"""Imported members at the till and in WeChat: found by phone and earning points there; the same member, not a
second one, when they later follow (by the openid the import filed) or bind their phone (the fold, with the
imported member's number surviving); a fold cut short is finished once, money never doubled."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.app_keys import SERVICES
from bot.events import facts_consumer
from bot.services import Services
from loyalty_core import errors, keys
from loyalty_core.members import MemberRef
from loyalty_core.redis_store.member_fold import RedisFoldStore
from loyalty_core.redis_store.members import RedisMemberStore
from tests.console_client import add_user, log_in
from tests.fixtures_bot import CapturingSms, bot_settings
from tests.integration.till import Till
from tests.integration.test_welcome import program_file
from tests.wechat_peer import WeChatPeer

PHONE = "13800138000"
WELCOME_POINTS = 100
LINKED = "会员账户已与微信关联"
PHONE_TAKEN = (Path(__file__).parents[2] / "bot" / "templates" / "errors" / "phone_taken.txt").read_text().strip()


@pytest.fixture
async def bot(redis, redis_url, clock, tmp_path):      # (redis: a flushed database)
    sms = CapturingSms()
    app = create_app(bot_settings(redis_url, program_file=program_file(tmp_path)), clock=clock, sms=sms)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield WeChatPeer(client), Till(client, clock), client.server.app[SERVICES], sms
    await client.close()


async def import_rows(services: Services, tmp_path: Path, text: str) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(text, encoding="utf-8")
    summary = (await services.member_import.run(path, "crm", {})).summary
    assert summary.rejected_total == 0


async def balance(services: Services, member_id: str) -> int:
    return (await services.points.summary(member_id, services.clock.now())).balance


async def wallet(services: Services, member_id: str) -> list[str]:
    return [coupon.template.id for coupon in await services.coupons.wallet(member_id)]


async def replay_joins(redis, services: Services) -> None:
    """What the `member_joined` consumer does with every join in the stream (the welcome gift, again)."""
    for _, fields in await redis.xrange(keys.OUTBOX_STREAM):
        if fields["type"] == "member_joined":
            await services.welcome.on_member_joined(orjson.loads(fields["event"]))


async def test_an_imported_member_is_found_by_phone_at_the_till_and_earns_points(bot, tmp_path):
    _, till, services, _ = bot
    await import_rows(services, tmp_path, f"phone,name\n+86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]},张三\n")
    imported = await services.members.member_id_for_phone(PHONE)
    answer = await till.purchase({"phone": "138 0013 8000"}, "250.00")
    assert answer.status == 200
    assert answer.json == {"member_id": imported, "points_earned": 250, "balance": 250, "tier": "member"}


async def test_an_imported_openid_follows_as_the_same_member_and_that_is_their_joining(bot, redis, tmp_path):
    peer, _, services, _ = bot
    await import_rows(services, tmp_path, f"phone,openid\n{PHONE},oMini0000001\n")
    imported = await services.members.member_id_for_phone(PHONE)
    assert (await peer.follow("oMini0000001")).status == 200
    assert await services.members.member_id_for_openid("oMini0000001") == imported
    member = await services.members.get(imported)
    assert member.subscribed and member.status == "subscribed"
    assert await wallet(services, imported) == ["welcome-20"] and await balance(services, imported) == WELCOME_POINTS
    joins = [f for _, f in await redis.xrange(keys.OUTBOX_STREAM) if f["type"] == "member_joined"]
    assert len(joins) == 1
    await replay_joins(redis, services)
    assert await wallet(services, imported) == ["welcome-20"] and await balance(services, imported) == WELCOME_POINTS
    assert await redis.get(keys.MEMBER_SEQ) == "1"


async def bind(peer: WeChatPeer, sms: CapturingSms, openid: str, phone: str = PHONE) -> str:
    await peer.say(openid, f"绑定 {phone}")
    return await peer.say(openid, f"验证 {sms.codes[phone]}")


async def test_a_follower_binding_an_imported_phone_folds_into_that_member(bot, redis, tmp_path):
    peer, till, services, sms = bot
    await import_rows(services, tmp_path, f"phone,name\n{PHONE},张三\n")
    imported = await services.members.member_id_for_phone(PHONE)
    assert (await till.purchase({"phone": PHONE}, "250.00")).status == 200
    await peer.follow("o_fan")
    follower = await services.members.member_id_for_openid("o_fan")
    assert follower != imported and await balance(services, follower) == WELCOME_POINTS

    reply = await bind(peer, sms, "o_fan")
    assert LINKED in reply and "138****8000" in reply
    assert await services.members.member_id_for_openid("o_fan") == imported
    assert await services.members.member_id_for_phone(PHONE) == imported
    assert (await services.members.get(follower)).member_id == imported
    assert await services.resolver.peek(MemberRef("member_id", follower), ("member_id",)) == imported
    assert await balance(services, imported) == 250 + WELCOME_POINTS and await balance(services, follower) == 0
    assert await wallet(services, imported) == ["welcome-20"] and await wallet(services, follower) == []
    profile = await redis.hgetall(keys.member_profile(imported))
    assert profile["openid"] == "o_fan" and profile["status"] == "subscribed" and profile["sources"] == "crm"

    await facts_consumer(services, "t").drain()              # the segments see one following member, with a phone
    assert (await services.facts.facts(imported)).following and (await services.facts.facts(imported)).phone_bound
    assert not (await services.facts.facts(follower)).following
    await replay_joins(redis, services)                      # the follower's join, consumed late: nothing new
    assert await balance(services, imported) == 250 + WELCOME_POINTS
    assert await wallet(services, imported) == ["welcome-20"]
    answer = await till.purchase({"openid": "o_fan"}, "100.00")
    assert answer.json["member_id"] == imported and answer.json["balance"] == 350 + 100
    coupon = (await services.coupons.wallet(imported))[0]
    assert await redis.get(keys.coupon_index(coupon.code)) == imported          # the till finds it under its member

    await add_user(peer.client, "desk@mall.test", "service_staff")                 # the console shows one member
    await log_in(peer.client, "desk@mall.test")
    page = await peer.client.get(f"/console/members/{follower}", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == f"/console/members/{imported}"


async def test_a_second_follower_cannot_take_a_folded_members_phone(bot, tmp_path):
    peer, _, services, sms = bot
    await import_rows(services, tmp_path, f"phone\n{PHONE}\n")
    await peer.follow("o_fan")
    await bind(peer, sms, "o_fan")
    await peer.follow("o_other")
    sms.codes.clear()
    assert await peer.say("o_other", f"绑定 {PHONE}") == PHONE_TAKEN and sms.codes == {}
    other = await services.members.member_id_for_openid("o_other")
    assert other != await services.members.member_id_for_phone(PHONE)


async def test_a_fold_cut_short_after_the_followers_points_left_is_finished_once(bot, redis, clock, tmp_path):
    peer, till, services, _ = bot
    await import_rows(services, tmp_path, f"phone\n{PHONE}\n")
    imported = await services.members.member_id_for_phone(PHONE)
    await till.purchase({"phone": PHONE}, "250.00")
    await peer.follow("o_fan")
    follower = await services.members.member_id_for_openid("o_fan")
    steps = RedisFoldStore(redis, services.scripts, services.outbox)
    await steps.begin(follower, imported, clock.now())
    await steps.claim(imported, follower)
    await steps.take_identity(imported, follower, clock.now())
    await steps.repoint_openid("o_fan", follower, imported)
    noted = await steps.note_points(follower, await balance(services, follower))
    await services.points.spend(follower, noted, f"fold-{imported}")        # … and the process died here
    assert await balance(services, follower) == 0 and await balance(services, imported) == 250

    assert await services.folds.resume_open() == 0                          # a live fold is left alone
    clock.advance(timedelta(minutes=2))
    assert await services.folds.resume_open() == 1
    assert await balance(services, imported) == 250 + WELCOME_POINTS
    assert await wallet(services, imported) == ["welcome-20"]
    assert (await services.members.get(follower)).member_id == imported
    assert await redis.zcard(keys.FOLDS_OPEN) == 0

    await services.folds.fold(follower, imported)                           # every step once more: nothing new
    assert await balance(services, imported) == 250 + WELCOME_POINTS
    assert await wallet(services, imported) == ["welcome-20"]


async def test_another_process_that_looked_the_follower_up_finds_the_imported_member_after_the_fold(bot, redis,
                                                                                                    tmp_path):
    peer, _, services, sms = bot
    await import_rows(services, tmp_path, f"phone\n{PHONE}\n")
    imported = await services.members.member_id_for_phone(PHONE)
    await peer.follow("o_fan")
    other_process = RedisMemberStore(redis, services.scripts, services.outbox)
    follower = await other_process.member_id_for_openid("o_fan")
    assert follower != imported
    await bind(peer, sms, "o_fan")
    assert await other_process.member_id_for_openid("o_fan") == imported
    assert await other_process.member_id_for_openid("o_fan") == imported      # now kept: it has a phone


async def test_two_followers_binding_one_imported_phone_at_once_fold_one_of_them(bot, redis, clock, tmp_path):
    peer, _, services, sms = bot
    await import_rows(services, tmp_path, f"phone\n{PHONE}\n")
    imported = await services.members.member_id_for_phone(PHONE)
    codes = {}
    for openid in ("o_one", "o_two"):
        await peer.follow(openid)
        follower = await services.members.member_id_for_openid(openid)
        await services.members.request_phone_code(follower, PHONE)
        codes[follower] = sms.codes[PHONE]
        clock.advance(timedelta(minutes=2))                      # the number's own cooldown between two codes
    outcomes = await asyncio.gather(*(services.members.verify_phone(follower, code)
                                      for follower, code in codes.items()), return_exceptions=True)
    linked = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(linked) == 1 and linked[0].linked
    assert [type(o) for o in outcomes if isinstance(o, Exception)] == [errors.PhoneTaken]
    winner = (await redis.hget(keys.member_profile(imported), "openid"))
    assert await services.members.member_id_for_openid(winner) == imported
    loser = ({"o_one", "o_two"} - {winner}).pop()
    assert await services.members.member_id_for_openid(loser) not in (None, imported)
    assert await redis.zcard(keys.FOLDS_OPEN) == 0
