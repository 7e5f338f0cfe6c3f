"""A member's data rights against a real Redis, driven as a member, a till and the service desk would: the export
holds what was put in (the phone and birthday opened), the privacy consent recorded at binding, and erasure leaves
no phone, birthday, openid or nickname in any key of the database (names and values), keeps the books, makes the
phone and the openid name nobody (a later follow is a new member), stops pushes, and may run twice."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import orjson
import pytest

from bot.app_keys import SERVICES, SETTINGS
from bot.services import build_services
from loyalty_core import errors, keys
from loyalty_core.members import PRIVACY_NOTICE_VERSION
from loyalty_core.personal_data import MEMBER_KEYS
from tests.e2e.processes import ROOT, base_env
from tests.fixtures_bot import CapturingSms
from tests.fixtures_push import align_clock
from tests.integration.till import Till

PHONE = "13812345678"
NICKNAME = "林小雨"
BIRTHDAY = "1990-05-20"


@dataclass
class Member:
    wired: object
    till: Till
    openid: str
    member_id: str

    @property
    def services(self):
        return self.wired.bot.app[SERVICES]


async def code_from_sms(wired, phone: str) -> str:
    [*_, latest] = await wired.wechat.sms(phone)
    return "".join(ch for ch in latest["text"] if ch.isdigit())[:6]


@pytest.fixture
async def member(start_wired, clock, redis) -> Member:
    """A member who did a bit of everything: bound a phone, set a birthday, bought, holds coupons, signed up for
    an event, manages a community, wrote to the service desk, and had a mass send planned."""
    wired = await start_wired()
    await wired.sandbox.move_to_morning()
    await align_clock(clock, wired.sandbox)
    till = Till(wired.bot, clock)
    openid = await wired.join(nickname=NICKNAME)
    member_id = await redis.get(keys.openid_index(openid))
    services = wired.bot.app[SERVICES]
    assert "验证码已发送" in await wired.say(openid, f"绑定 {PHONE}")
    assert "绑定成功" in await wired.say(openid, f"验证 {await code_from_sms(wired, PHONE)}")
    await imported_fields(services, redis, member_id)
    assert "确认" in await wired.say(openid, f"生日 {BIRTHDAY}")
    await wired.say(openid, "确认")
    assert (await till.purchase({"phone": PHONE}, "1999.00", txn_id="T-PD-1")).status == 200
    assert (await till.admin.post("/api/v1/admin/events", event_body(clock))).status == 201
    event = await services.events.event("tasting")
    await wired.say(openid, f"报名 {event.number}")
    assert await redis.sismember(keys.member_events(member_id), "tasting")
    assert (await till.admin.post("/api/v1/admin/communities", {"community_id": "yoga", "name": "瑜伽社",
                                                                 "description": "周末瑜伽"})).status == 201
    assert (await till.admin.post("/api/v1/admin/communities/yoga/managers", {"openid": openid})).status == 200
    await wired.say(openid, "加入 瑜伽社")
    await wired.say(openid, f"建议 停车场指引再清楚些，我的电话 {PHONE}")
    await planned_mass_batch(redis, member_id, openid)
    await wired.drain()
    return Member(wired, till, openid, member_id)


async def imported_fields(services, redis, member_id: str) -> None:
    """The fields a member import adds to the profile (sealed name and email, gender, the CRM's number)."""
    pii = services.pii
    await redis.hset(keys.member_profile(member_id), mapping={
        "nickname": NICKNAME, "name_enc": pii.encrypt("林雨", context="name"),
        "email_enc": pii.encrypt("linyu@example.com", context="email"), "gender": "F", "member_no": "CRM-77881"})


async def planned_mass_batch(redis, member_id: str, openid: str) -> None:
    """A mass send the member is in: its batch lists the openid, as the sender writes it."""
    await redis.hset(keys.push_mass_batch("b-pd"), mapping={
        "topic": "campaign:spring", "members": orjson.dumps([[member_id, "p-pd", openid], ["100999", "p-x", "oOther"]])})
    record = {"push": {"push_id": "p-pd", "member_id": member_id, "topic": "campaign:spring"}, "status": "queued",
              "channel": "mass", "batch": "b-pd", "attempt": 1}
    await redis.hset(keys.member_pushes(member_id), "p-pd", orjson.dumps(record))
    await redis.zadd(keys.member_push_inbox(member_id), {"p-inbox": 1})


def event_body(clock) -> dict:
    starts = clock.now() + timedelta(hours=72)
    return {"event_id": "tasting", "title": "春季品酒会", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(), "place": "三楼中庭", "capacity": 50,
            "community_id": None, "min_tier": None, "priority_tiers_hours": {},
            "signup_deadline": (starts - timedelta(hours=1)).isoformat(), "notes": "请着正装"}


async def everything_in(redis) -> list[tuple[str, str]]:
    """Every key of the database and every name and value it holds, as text."""
    found = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        if kind == "hash":
            values = [text for pair in (await redis.hgetall(key)).items() for text in pair]
        elif kind == "list":
            values = await redis.lrange(key, 0, -1)
        elif kind == "set":
            values = list(await redis.smembers(key))
        elif kind == "zset":
            values = await redis.zrange(key, 0, -1)
        elif kind == "stream":
            values = [f"{name}={value}" for _, fields in await redis.xrange(key) for name, value in fields.items()]
        else:
            values = [await redis.get(key) or ""]
        found += [(key, key)] + [(key, str(value)) for value in values]
    return found


def secrets_of(member: Member) -> dict[str, str]:
    services = member.services
    return {"phone": PHONE, "phone hash": services.members.phone_hash(PHONE), "openid": member.openid,
            "birthday": BIRTHDAY, "nickname": NICKNAME, "member number": "CRM-77881",
            "birthday label": services.birthdays._seal.label("solar:05-20")}


def outbox_label(what: str, key: str) -> bool:
    """The domain events stream keeps the birthday_set event (its keyed month-day label, which the birthday
    index's consumer files by) until every consumer group has read it and the retention job trims it."""
    return what == "birthday label" and key == keys.OUTBOX_STREAM


async def test_the_export_holds_what_was_put_in_with_the_phone_and_birthday_opened(member, redis):
    document = await member.services.personal_data.export(member.member_id)
    profile = document["profile"]
    assert (profile["phone"], profile["openid"], profile["nickname"]) == (PHONE, member.openid, NICKNAME)
    assert (profile["name"], profile["email"], profile["member_no"]) == ("林雨", "linyu@example.com", "CRM-77881")
    assert "phone_enc" not in profile
    assert (document["birthday"]["year"], document["birthday"]["month"], document["birthday"]["day"]) == (1990, 5, 20)
    assert document["privacy_consent"]["notice_version"] == PRIVACY_NOTICE_VERSION
    assert "T-PD-1" in document["purchases"]
    assert int(document["points"]["balance"]) >= 1999
    assert document["coupons"], "the welcome coupon"
    assert [place["event_id"] for place in document["event_places"]] == ["tasting"]
    assert document["communities"] == ["yoga"]
    assert any(PHONE in suggestion["text"] for suggestion in document["suggestions"])
    assert {"deliveries", "campaigns", "referee", "subscribe_consents"} <= set(document)
    orjson.dumps(document)                      # one JSON document


async def test_erasure_leaves_no_phone_birthday_openid_or_nickname_anywhere_and_keeps_the_books(member, redis):
    services = member.services
    balance = (await services.points.summary(member.member_id, services.clock.now())).balance
    erased = await services.personal_data.erase(member.member_id, "member's request by phone, 2 Dec")
    assert not erased.already and erased.reason == "member's request by phone, 2 Dec"
    leaks = [(what, key, text) for key, text in await everything_in(redis)
             for what, secret in secrets_of(member).items() if secret in text and not outbox_label(what, key)]
    assert leaks == []
    profile = await redis.hgetall(keys.member_profile(member.member_id))
    assert profile["status"] == "erased" and profile["erased_at"] and profile["erase_reason"]
    assert (await services.points.summary(member.member_id, services.clock.now())).balance == balance
    assert "T-PD-1" in await redis.hgetall(keys.member_purchases(member.member_id))
    assert await redis.hget(keys.push_mass_batch("b-pd"), "members") == orjson.dumps(
        [[member.member_id, "p-pd", ""], ["100999", "p-x", "oOther"]]).decode()
    assert not await redis.exists(keys.member_push_inbox(member.member_id))


async def test_after_erasure_the_till_finds_nobody_and_the_old_openid_is_a_new_member(member, redis):
    services = member.services
    await services.personal_data.erase(member.member_id, "member's request")
    lookup = await member.till.get(f"/api/v1/members/lookup?phone={PHONE}")
    assert (lookup.status, lookup.error) == (404, "unknown_member")
    purchase = await member.till.purchase({"openid": member.openid}, "10.00")
    assert (purchase.status, purchase.error) == (404, "unknown_member")
    await member.wired.say(member.openid, "积分")
    newcomer = await redis.get(keys.openid_index(member.openid))
    assert newcomer and newcomer != member.member_id
    assert (await redis.hget(keys.member_profile(newcomer), "status")) == "subscribed"


async def test_erasing_twice_keeps_the_first_erasure_and_a_push_after_it_is_dropped(member, redis):
    services = member.services
    first = await services.personal_data.erase(member.member_id, "member's request")
    again = await services.personal_data.erase(member.member_id, "asked again")
    assert again.already and (again.erased_at, again.reason) == (first.erased_at, first.reason)
    record = await services.notices.notify(member.member_id, "points_earned", {"amount": "10", "points": 10, "balance": 10, "at": "12-04 10:00"},
                                           ref="after-erase")
    assert record is None or record.status == "dropped"
    with pytest.raises(errors.UnknownMember):
        await services.personal_data.erase("100999", "nobody")
    with pytest.raises(errors.ReasonRequired):
        await services.personal_data.erase(member.member_id, "  ")


async def test_the_member_command_exports_to_a_file_and_erases_with_a_reason(member, redis, tmp_path, redis_url):
    out = tmp_path / "export.json"
    env = base_env(REDIS_URL=redis_url)
    exported = subprocess.run([sys.executable, "-m", "bot", "member", "--demo", "export", member.member_id,
                               "--out", str(out)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert exported.returncode == 0, exported.stderr
    assert orjson.loads(out.read_bytes())["member_id"] == member.member_id
    erased = subprocess.run([sys.executable, "-m", "bot", "member", "--demo", "erase", member.member_id,
                             "--reason", "member's request"], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert erased.returncode == 0, erased.stderr
    assert f"member {member.member_id} erased" in erased.stdout
    audit = [entry.action for entry in await member.services.console.audit_log()]
    assert {"member.export", "member.erase"} <= set(audit)
    missing = subprocess.run([sys.executable, "-m", "bot", "member", "--demo", "erase", "100999", "--reason", "x"],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no such member" in missing.stderr


async def test_a_member_never_shown_the_notice_gets_it_before_any_code_and_agrees_with_tongyi(start_wired, redis):
    wired = await start_wired()
    services = wired.bot.app[SERVICES]
    openid = (await wired.wechat.add_member(nickname="老会员", follow=True, notify=False))["openid"]
    member_id = (await services.members.follow(openid, "evt:before-the-notice")).member_id   # joined before it
    notice = await wired.say(openid, "绑定 13912345678")
    assert "同意" in notice and "/privacy" in notice and "我的数据" in notice
    assert await wired.wechat.sms("13912345678") == []                    # no code before the consent
    assert not await redis.hget(keys.member_profile(member_id), "privacy_consented_at")
    assert "已记录" in await wired.say(openid, "同意")
    assert "已同意过" in await wired.say(openid, "同意")
    assert "验证码已发送" in await wired.say(openid, "绑定 13912345678")
    consent = (await services.personal_data.export(member_id))["privacy_consent"]
    assert consent["notice_version"] == PRIVACY_NOTICE_VERSION and consent["consented_at"]
    assert "人工" in await wired.say(openid, "我的数据")


async def test_binding_again_after_the_notice_is_the_consent_and_the_privacy_page_is_served(start_wired, redis):
    wired = await start_wired()
    services = wired.bot.app[SERVICES]
    openid = (await wired.wechat.add_member(nickname="老会员", follow=True, notify=False))["openid"]
    member_id = (await services.members.follow(openid, "evt:before-the-notice")).member_id
    assert "同意" in await wired.say(openid, "绑定 13912345678")
    assert "验证码已发送" in await wired.say(openid, "绑定 13912345678")
    assert (await redis.hget(keys.member_profile(member_id), "privacy_notice")) == PRIVACY_NOTICE_VERSION
    page = await wired.bot.get("/privacy")
    assert page.status == 200 and "会员隐私说明" in await page.text()


async def test_another_process_that_still_knows_the_openid_makes_a_new_member_on_the_next_follow(member, redis):
    """A process keeps openid -> member for a minute: the one that erased forgets it at once; another that still
    maps the openid to the erased member finds it erased when it follows, and makes a new member."""
    services = member.services
    elsewhere = build_services(redis, services.clock, bot_pii_key(member), CapturingSms(), program=services.program)
    assert await elsewhere.members.member_id_for_openid(member.openid) == member.member_id     # cached there
    await services.personal_data.erase(member.member_id, "member's request")
    assert await elsewhere.members.member_id_for_openid(member.openid) == member.member_id     # still cached
    again = await elsewhere.members.follow(member.openid, "evt:after-erasure")
    assert again.is_new and again.member_id != member.member_id
    assert await redis.get(keys.openid_index(member.openid)) == again.member_id


def bot_pii_key(member: Member) -> bytes:
    return member.wired.bot.app[SETTINGS].pii_key_bytes


async def test_every_key_the_member_has_in_redis_is_in_the_export_or_left_out_by_name(member, redis):
    exported = {entry.key(member.member_id) for entry in MEMBER_KEYS} | {keys.member_profile(member.member_id)}
    left_out_prefixes = (keys.member_op(member.member_id, ""), f"{keys.member_tag(member.member_id)}:broadcasts:")
    held = [key async for key in redis.scan_iter(match=f"{keys.member_tag(member.member_id)}*", count=1000)]
    assert len(held) > 10
    assert [key for key in held if key not in exported and not key.startswith(left_out_prefixes)] == []
