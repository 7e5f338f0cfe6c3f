"""Birthday privileges through chat, the staff API and the core service, on a real Redis."""
from __future__ import annotations

import argparse
import asyncio
import logging
import time
from datetime import date, datetime, timedelta

import orjson
import pytest

from bot.api.staff_client import add_staff_arguments, staff_request
from bot.api.till_client import post_signed
from bot.app_keys import SERVICES
from bot.events import birthday_index_consumer
from bot.services import Services
from loyalty_core import errors, keys
from loyalty_core.birthday import BirthdaySeal, BirthdayService
from loyalty_core.birthday_calendar import LUNAR, SOLAR
from loyalty_core.clock import MALL_TZ
from loyalty_core.redis_store.birthday import RedisBirthdayStore
from tests.fixtures_bot import ADMIN_SECRET
from tests.integration.till import Till, snapshot
from tests.polling import until
from tests.wechat_peer import WeChatPeer

JUNE_3 = datetime(2026, 6, 3, 10, 0, tzinfo=MALL_TZ)


@pytest.fixture
async def bot(start_bot, clock, redis):
    clock.set(JUNE_3)
    client = await start_bot()
    return WeChatPeer(client), Till(client, clock)


async def join(peer: WeChatPeer, till: Till, openid: str) -> str:
    await peer.follow(openid)
    return await till.services.members.member_id_for_openid(openid)


async def set_birthday(till: Till, member_id: str, text: str, calendar: str = SOLAR) -> None:
    birthdays = till.services.birthdays
    proposal = await birthdays.propose(member_id, text, calendar)
    await birthdays.confirm(member_id, proposal.sealed, f"test-{member_id}")


class DiesBeforeIndexing(RedisBirthdayStore):
    """The store of a process that dies right after the member's script, before the index step."""

    async def index(self, label: str, member_id: str, previous_label: str = "") -> None:
        raise ConnectionError("the process died before the index step")


def crashing_birthdays(services: Services) -> BirthdayService:
    store = DiesBeforeIndexing(services.redis, services.scripts, services.outbox, services.batcher)
    return BirthdayService(store, BirthdaySeal(services.pii), services.program, services.clock, services.tiers,
                           services.points, services.pending, services.coupons)


async def filed(redis) -> dict[str, set[str]]:
    """The birthday index: each index set with the members in it."""
    return {key: await redis.smembers(key) async for key in redis.scan_iter("idx:birthday:*")}


async def stream_events(redis, event_type: str) -> list[dict]:
    return [orjson.loads(fields["event"]) for _, fields in await redis.xrange(keys.OUTBOX_STREAM)
            if fields["type"] == event_type]


# -- setting it, once -----------------------------------------------------------------------------------
async def test_a_member_sets_a_solar_birthday_once_after_confirming(bot, redis):
    peer, till = bot
    member_id = await join(peer, till, "o_ada")
    asked = await peer.say("o_ada", "生日 1990-05-20")
    assert "公历 1990年5月20日" in asked and "「确认」" in asked
    assert await redis.hget(keys.member_birthday(member_id), "enc") is None        # nothing until 确认
    saved = await peer.say("o_ada", "确认")
    assert "生日已保存：公历 1990年5月20日" in saved
    assert "2026年5月1日 起可领取生日礼" not in saved and "2027年5月1日 起可领取生日礼" in saved
    again = await peer.say("o_ada", "生日 1991-01-01")
    assert "已经设置过了" in again and "服务台" in again
    assert "公历 1990年5月20日" in await peer.say("o_ada", "生日")
    [event] = await stream_events(redis, "birthday_set")
    label = await redis.hget(keys.member_birthday(member_id), "label")
    assert event["member_id"] == member_id and event["data"] == {"calendar": "solar", "label": label}
    assert "05-20" not in label and len(label) == 32                   # the keyed hash, never the date


async def test_a_lunar_leap_month_birthday_is_repeated_in_words_and_sealed_at_rest(bot, redis):
    peer, till = bot
    member_id = await join(peer, till, "o_bei")
    asked = await peer.say("o_bei", "农历生日 2020-闰04-26")
    assert "农历 2020年（庚子年）闰四月廿六（公历 2020年6月17日）" in asked and "每年农历闰四月廿六" in asked
    assert "生日已保存" in await peer.say("o_bei", "确认")
    stored = await redis.hgetall(keys.member_birthday(member_id))
    assert stored["enc"].startswith("v1.") and '"month"' not in str(stored) and "lunar" not in str(stored)
    index_keys = [key async for key in redis.scan_iter("idx:birthday:*")]
    assert len(index_keys) == 1 and "04-26" not in index_keys[0] and "lunar" not in index_keys[0]
    status = await till.services.birthdays.status(member_id)
    assert status.in_window and status.occurrence.day == date(2026, 6, 11)     # 2026 has no 闰四月


async def test_cancel_forgets_the_proposed_birthday(bot, redis):
    peer, till = bot
    member_id = await join(peer, till, "o_cai")
    await peer.say("o_cai", "生日 1990-05-20")
    assert "已取消：设置生日" in await peer.say("o_cai", "取消")
    assert "没有需要确认" in await peer.say("o_cai", "确认")
    assert not await redis.exists(keys.member_birthday(member_id))


@pytest.mark.parametrize("text, shown", [
    ("生日 1990-02-30", "没有这一天"),
    ("生日 2001-02-29", "没有这一天"),
    ("农历生日 1990-闰04-26", "那年是闰五月"),
    ("农历生日 2021-04-30", "这个农历月份没有这一天"),
    ("生日 2026-06-04", "不能晚于今天"),
    ("生日 1899-12-31", "1900 年"),
    ("生日 五月二十", "没看懂"),
])
async def test_an_invalid_date_is_explained_and_nothing_is_stored(bot, redis, text, shown):
    peer, till = bot
    member_id = await join(peer, till, "o_dan")
    reply = await peer.say("o_dan", text)
    assert shown in reply and "生日没有保存" in reply
    assert not await redis.exists(keys.member_birthday(member_id), keys.member_pending_choice(member_id))
    assert [key async for key in redis.scan_iter("idx:birthday:*")] == []
    assert "没有需要确认" in await peer.say("o_dan", "确认")


async def test_a_double_confirm_stores_once(bot, redis):
    peer, till = bot
    member_id = await join(peer, till, "o_eve")
    await peer.say("o_eve", "生日 1990-05-20")
    first, second = await asyncio.gather(peer.say("o_eve", "确认"), peer.say("o_eve", "确认"))
    assert "生日已保存" in first and "生日已保存" in second
    assert len(await redis.lrange(keys.member_birthday_audit(member_id), 0, -1)) == 1
    # one event; two relays racing may both copy it to the stream (at least once), under its one event_id
    assert {event["event_id"] for event in await stream_events(redis, "birthday_set")} == {f"birthday_set:{member_id}"}


# -- staff change, audited --------------------------------------------------------------------------------
async def test_staff_change_a_birthday_through_the_signed_api_with_an_audit_and_an_event(bot, redis, caplog):
    peer, till = bot
    caplog.set_level(logging.DEBUG)
    member_id = await join(peer, till, "o_fay")
    await set_birthday(till, member_id, "1990-05-20")
    body = {"calendar": "lunar", "date": "2020-闰04-26", "reason": "证件核对更正", "staff_id": "S007",
            "request_id": "chg-1"}
    path = f"/api/v1/admin/members/{member_id}/birthday"
    answer = await till.admin.post(path, body)
    assert answer.status == 200 and answer.json == {"member_id": member_id, "action": "changed", "changes": 1,
                                                    "replayed": False}
    assert (await till.admin.post(path, body)).json["replayed"] is True
    assert (await till.admin.post(path, body | {"date": "2020-闰04-27"})).error == "birthday_change_conflict"
    assert (await till.admin.post(path, body, signature="0" * 64)).status == 401
    unknown = await till.admin.post("/api/v1/admin/members/999999/birthday", body | {"request_id": "chg-2"})
    assert unknown.status == 404

    [change, first] = await till.services.birthdays.audit(member_id)
    assert (change.action, change.by, change.reason, change.request_id) == ("changed", "S007", "证件核对更正", "chg-1")
    assert (first.action, first.by) == ("set", "member")
    [event] = await stream_events(redis, "birthday_changed")
    assert event["data"]["staff_id"] == "S007" and "date" not in event["data"]
    birthdays = till.services.birthdays
    assert await birthdays.members_with_birthday_on(date(2026, 5, 20)) == []
    assert await birthdays.members_with_birthday_on(date(2026, 6, 11)) == [member_id]
    assert "闰四月廿六" in await peer.say("o_fay", "生日")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "1990-05-20" not in logged and "04-26" not in logged and "闰" not in logged


async def test_a_staff_change_signed_for_one_member_cannot_be_replayed_for_another(bot, redis):
    peer, till = bot
    fay, gus = await join(peer, till, "o_fay"), await join(peer, till, "o_gus")
    body = {"calendar": "solar", "date": "1990-05-20", "reason": "证件核对", "staff_id": "S007", "request_id": "r-1"}
    ts = int(time.time())
    assert (await till.admin.post(f"/api/v1/admin/members/{fay}/birthday", body, timestamp=ts)).status == 200
    before = await snapshot(redis)
    replayed = await till.admin.post(f"/api/v1/admin/members/{gus}/birthday", body, timestamp=ts)
    assert (replayed.status, replayed.error) == (401, "replayed_signature")
    assert await snapshot(redis) == before and await till.services.birthdays.audit(gus) == []


@pytest.mark.parametrize("written", ["1990/05/20", "1990/5/20", "1990年5月20日", "1990-5-20", "１９９０-05-20"])
async def test_the_staff_api_takes_a_date_written_one_way_only(bot, redis, written):
    peer, till = bot
    hal = await join(peer, till, "o_hal_staff")
    body = {"calendar": "solar", "date": written, "reason": "证件核对", "staff_id": "S007", "request_id": "r-w"}
    before = await snapshot(redis)
    refused = await till.admin.post(f"/api/v1/admin/members/{hal}/birthday", body)
    assert (refused.status, refused.error) == (422, "invalid_birthday")
    assert await snapshot(redis) == before


async def test_the_staff_cli_builds_the_signed_request(bot, redis):
    peer, till = bot
    member_id = await join(peer, till, "o_gus")
    parser = argparse.ArgumentParser()
    add_staff_arguments(parser)
    args = parser.parse_args(["birthday", member_id, "1988-01-01", "--lunar", "--reason", "会员来电", "--staff",
                              "S001", "--request", "cli-1"])
    path, payload = staff_request(args)
    status, answer = await post_signed(str(till.client.make_url(path)), ADMIN_SECRET, payload)
    assert status == 200 and answer["action"] == "set"
    assert await till.services.birthdays.members_with_birthday_on(date(2026, 2, 17)) == [member_id]


# -- the index after a crash -------------------------------------------------------------------------------
async def test_the_index_consumer_files_a_birthday_whose_index_step_a_crash_cut_short(bot, redis):
    peer, till = bot
    services, birthdays = till.services, till.services.birthdays
    member_id = await join(peer, till, "o_max")
    crashing = crashing_birthdays(services)
    proposal = await birthdays.propose(member_id, "1990-05-20", SOLAR)
    with pytest.raises(ConnectionError):
        await crashing.confirm(member_id, proposal.sealed, "op-crash-1")
    assert (await birthdays.status(member_id)).words == "公历 1990年5月20日"        # stored, yet never filed
    assert await filed(redis) == {}
    consumer = birthday_index_consumer(services, "test-index")
    assert (await consumer.step()).handled == 1
    assert await birthdays.members_with_birthday_on(date(2026, 5, 20)) == [member_id]
    first = await redis.hget(keys.member_birthday(member_id), "label")

    with pytest.raises(ConnectionError):
        await crashing.change(member_id, "2020-闰04-26", LUNAR, staff_id="S007", reason="证件核对更正",
                              request_id="chg-crash")
    assert await filed(redis) == {keys.birthday_index(first): {member_id}}         # still under the old day
    assert (await consumer.step()).handled == 1
    now = await redis.hget(keys.member_birthday(member_id), "label")
    assert await filed(redis) == {keys.birthday_index(now): {member_id}}            # moved
    assert await birthdays.members_with_birthday_on(date(2026, 6, 11)) == [member_id]
    [changed] = await stream_events(redis, "birthday_changed")
    assert (changed["data"]["label"], changed["data"]["previous_label"]) == (now, first)

    events = await stream_events(redis, "birthday_set") + [changed]
    for event in [*events, *reversed(events)]:                  # replays, in any order, change nothing
        await birthdays.on_birthday_event(event)
    assert await filed(redis) == {keys.birthday_index(now): {member_id}}
    [fields] = [fields for _, fields in await redis.xrange(keys.OUTBOX_STREAM) if fields["type"] == "birthday_set"]
    await redis.xadd(keys.OUTBOX_STREAM, fields)                # the relay delivers at least once
    assert (await consumer.step()).handled == 0
    assert await filed(redis) == {keys.birthday_index(now): {member_id}}


async def test_the_web_process_runs_the_birthday_index_consumer(start_bot, redis, clock):
    clock.set(JUNE_3)
    services = (await start_bot(background=True)).server.app[SERVICES]
    member_id = (await services.members.follow("o_ned", "join:o_ned")).member_id
    proposal = await services.birthdays.propose(member_id, "1990-05-20", SOLAR)
    with pytest.raises(ConnectionError):
        await crashing_birthdays(services).confirm(member_id, proposal.sealed, "op-crash-2")

    async def greeted() -> list[str]:
        return await services.birthdays.members_with_birthday_on(date(2026, 5, 20))
    assert await until(greeted) == [member_id]


# -- the gift ---------------------------------------------------------------------------------------------
async def test_the_gift_claimed_five_times_at_once_is_given_once_and_again_next_year(bot, clock):
    peer, till = bot
    member_id = await join(peer, till, "o_hal")
    await set_birthday(till, member_id, "1985-06-21")
    birthdays, points = till.services.birthdays, till.services.points
    claims = await asyncio.gather(*(birthdays.claim_gift(member_id) for _ in range(5)))
    assert sorted(c.replayed for c in claims) == [False, True, True, True, True]
    assert {(c.gift.kind, c.gift.points, c.cycle) for c in claims} == {("points", 200, 2026)}
    assert (await points.summary(member_id, clock.now())).balance == 200
    assert "已于 2026年6月3日 领取" in await peer.say("o_hal", "领取生日礼")

    clock.set(datetime(2026, 7, 1, 9, 0, tzinfo=MALL_TZ))
    assert "2027年6月1日 至 2027年6月30日" in await peer.say("o_hal", "领取生日礼")
    clock.set(datetime(2027, 6, 1, 0, 5, tzinfo=MALL_TZ))        # last year's points still valid
    reply = await peer.say("o_hal", "birthday gift")
    assert "生日快乐" in reply and "200 积分已存入" in reply
    assert (await points.summary(member_id, clock.now())).balance == 400


async def test_the_gift_follows_the_tier_a_voucher_for_platinum_and_a_coupon_for_gold(bot, redis):
    peer, till = bot
    platinum = await join(peer, till, "o_ivy")
    await till.purchase({"openid": "o_ivy"}, "120000.00")
    await set_birthday(till, platinum, "1990-06-15")
    reply = await peer.say("o_ivy", "领取生日礼")
    code = reply.split("兑换码：")[1].split("\n")[0]
    assert "生日蛋糕兑换券" in reply and "2026年7月3日 前到服务台" in reply and len(code) == 11
    assert orjson.loads(await redis.get(keys.gift_voucher(code)))["member_id"] == platinum
    assert code in await peer.say("o_ivy", "领取生日礼")                    # the same code when asked again
    [claimed] = await stream_events(redis, "birthday_gift_claimed")         # a code that grants a gift stays out
    assert code not in orjson.dumps(claimed).decode() and claimed["data"]["voucher_code_tail"] == code[-4:]

    gold = await join(peer, till, "o_jay")
    await till.purchase({"openid": "o_jay"}, "60000.00")
    await set_birthday(till, gold, "1990-06-16")
    reply = await peer.say("o_jay", "生日礼")
    assert "金卡生日券 满300减100" in reply and "券码：" in reply
    assert sorted(c.template.id for c in await till.services.coupons.wallet(gold)) == ["birthday-gold", "welcome-20"]


async def test_claiming_needs_a_birthday_and_the_window(bot, clock):
    peer, till = bot
    member_id = await join(peer, till, "o_kit")
    assert "还没有设置生日" in await peer.say("o_kit", "领取生日礼")
    await set_birthday(till, member_id, "2020-闰04-26", LUNAR)
    clock.set(datetime(2026, 5, 31, 23, 0, tzinfo=MALL_TZ))
    assert "2026年6月1日 至 2026年6月30日" in await peer.say("o_kit", "领取生日礼")
    with pytest.raises(errors.NotInBirthdayWindow):
        await till.services.birthdays.claim_gift(member_id)


# -- birthday double points -------------------------------------------------------------------------------
async def test_purchases_in_the_birthday_window_earn_double_points(bot, clock):
    peer, till = bot
    member_id = await join(peer, till, "o_lea")
    await set_birthday(till, member_id, "1992-06-28")
    assert (await till.purchase({"openid": "o_lea"}, "100.00")).json["points_earned"] == 200
    clock.set(datetime(2026, 7, 2, 10, 0, tzinfo=MALL_TZ))
    assert (await till.purchase({"openid": "o_lea"}, "100.00")).json["points_earned"] == 100
    clock.set(datetime(2027, 6, 1, 10, 0, tzinfo=MALL_TZ))
    assert (await till.purchase({"openid": "o_lea"}, "100.00")).json["points_earned"] == 200


# -- whose birthday is on a day --------------------------------------------------------------------------
async def test_members_with_birthday_on_finds_solar_and_lunar_birthdays_across_years(bot):
    peer, till = bot
    people = {"leap_day": ("2000-02-29", SOLAR), "chuxi": ("1990-12-30", LUNAR), "leap6_30": ("2017-闰06-30", LUNAR),
              "leap4": ("2020-闰04-26", LUNAR), "may20": ("1990-05-20", SOLAR), "lunar4_26": ("1990-04-26", LUNAR)}
    ids = {}
    for n, (name, (text, calendar)) in enumerate(people.items()):
        ids[name] = str(200_000 + n)
        await set_birthday(till, ids[name], text, calendar)
    expected = {
        "leap_day": [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28)],
        "chuxi": [date(2024, 2, 9), date(2025, 1, 28), date(2026, 2, 16), date(2027, 2, 5)],
        "leap6_30": [date(2024, 8, 3), date(2025, 8, 22), date(2026, 8, 12), date(2027, 8, 1)],
        "leap4": [date(2024, 6, 2), date(2025, 5, 23), date(2026, 6, 11), date(2027, 5, 31)],
        "may20": [date(2024, 5, 20), date(2025, 5, 20), date(2026, 5, 20), date(2027, 5, 20)],
        "lunar4_26": [date(2024, 6, 2), date(2025, 5, 23), date(2026, 6, 11), date(2027, 5, 31)],
    }
    found: dict[str, list[date]] = {name: [] for name in people}
    day = date(2024, 1, 1)
    while day <= date(2027, 12, 31):
        for member_id in await till.services.birthdays.members_with_birthday_on(day):
            found[next(name for name, mid in ids.items() if mid == member_id)].append(day)
        day += timedelta(days=1)
    assert found == expected
