"""The sender against the WeChat sandbox: every channel once, token storms and busy answers ridden out, the
platform's refusals handled by their class, reclaimed entries after a crash, two senders on one window."""
from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from loyalty_core import keys
from loyalty_core.push.model import Content, Notice, Push
from tests.fixtures_push import advance, align_clock
from tests.pushes import POINTS_NOTICE, followers, message_window, push_services, text_push

EVENT_NOTICE = Notice("SUB_EVENT_REMINDER", {"thing1": "品酒会", "time2": "1月20日 19:00"})


@pytest.fixture
async def rig(sandbox, redis, clock):
    await sandbox.client.settings(quotas=True)
    await align_clock(clock, sandbox)
    return push_services(redis, clock), sandbox


async def joined(services, sandbox, count: int, prefix: str = "oSend"):
    """Followers on both sides: silent followers in the sandbox (no window there), members here."""
    await sandbox.client.add_followers(count, prefix)
    return await followers(services, count, prefix)


async def deliveries(sandbox, channel: str | None = None) -> list[dict]:
    return await sandbox.client.all_messages(channel=channel, limit=100_000)


def texts(entries: list[dict]) -> Counter:
    return Counter(entry["message"].get("text", {}).get("content") or str(entry["message"].get("template", {})
                                                                            .get("data")) for entry in entries)


async def test_each_channel_delivers_once_and_the_log_tells_the_story(rig, make_sender, clock):
    services, sandbox = rig
    custom, template, subscribe = await joined(services, sandbox, 3)
    await sandbox.client.text(custom.openid, "在吗")          # the platform's window …
    await message_window(services, custom)                   # … and ours (no bot is wired here)
    await sandbox.client.consent(subscribe.openid, "SUB_EVENT_REMINDER")
    await services.channels.record_consents(subscribe.member_id, ["SUB_EVENT_REMINDER"], "evt:popup")
    records = [
        await services.pushes.plan(text_push(custom.member_id, clock.now(), template=POINTS_NOTICE)),
        await services.pushes.plan(text_push(template.member_id, clock.now(), template=POINTS_NOTICE)),
        await services.pushes.plan(Push("", subscribe.member_id, "service", "event:9:reminder-24h",
                                        clock.now().replace(year=2030), Content(subscribe=EVENT_NOTICE))),
    ]
    assert [r.channel for r in records] == ["custom", "template", "subscribe"]
    sender = await make_sender(sandbox)
    await sender.drain()
    assert Counter(e["channel"] for e in await deliveries(sandbox)) == {"custom": 1, "template": 1, "subscribe": 1}
    for record in records:
        assert (await services.pushes.record(record.member_id, record.push_id)).status == "sent"
    steps = await services.pushes.deliveries(custom.member_id)
    assert [s.status for s in steps] == ["sent", "in_flight", "queued"]
    assert await services.channels.consents_left(subscribe.member_id, "SUB_EVENT_REMINDER") == 0
    counts = await services.push_queue.counts()
    assert counts[("service", "points_earned", "template", "sent")] == 1
    assert counts[("service", "event", "subscribe", "sent")] == 1
    assert await services.push_queue.topic_counts("event:9:reminder-24h") == {("subscribe", "queued"): 1,
                                                                              ("subscribe", "sent"): 1}


async def test_a_token_storm_and_busy_answers_deliver_everything_once_with_one_refresh(rig, make_sender, clock):
    services, sandbox = rig
    members = await joined(services, sandbox, 40)
    sender = await make_sender(sandbox)
    await sender._api.get_tags()                             # a token in use before the storm
    for member in members:
        for n in range(5):
            notice = Notice("TPL_POINTS_CHANGED", {"thing1": f"{member.openid}:{n}", "number2": "520"})
            await services.pushes.plan(text_push(member.member_id, clock.now(), topic=f"notice:{n}", template=notice))
    await sandbox.client.fault("message/template/send", token_storm=150, busy_next=3)
    await sender.drain()
    delivered = texts(await deliveries(sandbox, "template"))
    assert len(await deliveries(sandbox, "template")) == 200 and max(delivered.values()) == 1
    refreshes = [c for c in await sandbox.client.calls("stable_token") if c["detail"].get("force_refresh")]
    assert len(refreshes) == 1
    stats = (await sandbox.client.stats())["calls"]["message/template/send"]
    assert stats["40001"] >= 1 and stats["-1"] == 3 and stats["0"] == 200


async def test_a_send_that_stays_busy_is_tried_again_later_not_at_once(rig, make_sender, clock):
    services, sandbox = rig
    [member] = await joined(services, sandbox, 1)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), template=POINTS_NOTICE))
    sender = await make_sender(sandbox)
    await sandbox.client.fault("message/template/send", busy_next=4)       # all four of the client's tries
    await sender.drain()
    waiting = await services.pushes.record(member.member_id, record.push_id)
    assert (waiting.status, waiting.reason, waiting.retries) == ("deferred", "errcode -1", 1)
    await advance(clock, sandbox, 30)
    assert await services.pushes.wake_due() == 1
    await sender.drain()
    assert (await services.pushes.record(member.member_id, record.push_id)).status == "sent"
    assert len(await deliveries(sandbox, "template")) == 1


async def test_a_window_the_platform_says_is_used_up_is_closed_and_the_push_planned_again(rig, make_sender, clock):
    services, sandbox = rig
    [member] = await joined(services, sandbox, 1)
    await sandbox.client.text(member.openid, "你好")
    await message_window(services, member)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), template=POINTS_NOTICE))
    await sandbox.client.fault("message/custom/send", errcode=45047, errcode_next=1)   # facts the platform disputes
    await (await make_sender(sandbox)).drain()
    done = await services.pushes.record(member.member_id, record.push_id)
    assert (done.status, done.channel, done.attempt) == ("sent", "template", 2)
    calls = await sandbox.client.calls("message/custom/send")
    assert [c["errcode"] for c in calls] == [45047]              # never retried blindly
    assert not await services.pushes.take_window(member.member_id)


async def test_a_member_the_platform_says_does_not_follow_is_not_messaged_again(rig, make_sender, clock):
    services, sandbox = rig
    [member] = await joined(services, sandbox, 1)
    await sandbox.client.unfollow(member.openid)             # no bot is wired: we did not hear of it
    first = await services.pushes.plan(text_push(member.member_id, clock.now(), template=POINTS_NOTICE))
    await (await make_sender(sandbox)).drain()
    assert (await services.pushes.record(member.member_id, first.push_id)).reason == "unsubscribed"
    second = await services.pushes.plan(text_push(member.member_id, clock.now(), topic="tier_changed",
                                                  template=POINTS_NOTICE))
    assert (second.status, second.reason) == ("dropped", "unsubscribed")
    assert len(await sandbox.client.calls("message/template/send")) == 1


async def test_a_consent_the_platform_says_is_gone_is_forgotten(rig, make_sender, clock):
    services, sandbox = rig
    [member] = await joined(services, sandbox, 1)
    await services.channels.record_consents(member.member_id, ["SUB_EVENT_REMINDER"], "evt:popup")  # not in WeChat
    push = Push("", member.member_id, "service", "event:3:reminder-24h", clock.now().replace(year=2030),
                Content.text("活动明天开始", subscribe=EVENT_NOTICE))
    record = await services.pushes.plan(push)
    assert record.channel == "subscribe"
    await (await make_sender(sandbox)).drain()
    assert (await services.pushes.record(member.member_id, record.push_id)).status == "pending_inbox"
    assert await services.channels.consents_left(member.member_id, "SUB_EVENT_REMINDER") == 0


async def test_two_senders_racing_one_members_window_never_overrun_it(rig, make_sender, clock):
    services, sandbox = rig
    [member] = await joined(services, sandbox, 1)
    await sandbox.client.text(member.openid, "我来了")
    await message_window(services, member)
    for n in range(12):
        await services.pushes.plan(text_push(member.member_id, clock.now(), topic=f"notice:{n}", text=f"通知 {n}",
                                             template=POINTS_NOTICE))
    first = await make_sender(sandbox, name="sender-a", read_batch=6)
    second = await make_sender(sandbox, name="sender-b", read_batch=6)
    await asyncio.gather(first.step(), second.step())          # 6 entries each, all at once
    await asyncio.gather(first.drain(), second.drain())
    assert Counter(e["channel"] for e in await deliveries(sandbox)) == {"custom": 5, "template": 7}
    assert {c["errcode"] for c in await sandbox.client.calls("message/custom/send")} == {0}
    assert first.stats["sent"] and second.stats["sent"]          # both took part


async def test_a_dead_senders_entries_are_sent_by_another_or_left_in_doubt(rig, make_sender, clock, redis):
    services, sandbox = rig
    members = await joined(services, sandbox, 3)
    records = [await services.pushes.plan(text_push(m.member_id, clock.now(), template=POINTS_NOTICE))
               for m in members]
    dead = await make_sender(sandbox, name="sender-dead")
    await dead._queue.ensure_groups()
    entries = [e for p in range(dead._queue.partitions) for e in await dead._queue.read("sender-dead", p, 10)]
    assert len(entries) == 3
    in_flight, recorded, _only_read = entries     # it died mid-call, before acknowledging, after reading
    assert (await services.pushes.begin(in_flight.member_id, in_flight.push_id, 1,
                                        dead.config.in_doubt_after)).action == "send"
    await dead._handle(recorded)                  # sent and recorded; the acknowledgement never went out
    assert len(await deliveries(sandbox, "template")) == 1
    heir = await make_sender(sandbox, name="sender-heir", claim_idle_ms=0)
    await heir.step()
    assert len(await deliveries(sandbox, "template")) == 2      # the one only read; the recorded one acknowledged
    assert await redis.xpending(keys.push_stream(in_flight.partition), keys.PUSH_SENDERS)
    await advance(clock, sandbox, dead.config.in_doubt_after.total_seconds() + 1)
    await heir.step()
    assert await services.push_queue.in_doubt() == [(in_flight.member_id, in_flight.push_id)]
    assert len(await deliveries(sandbox, "template")) == 2       # not sent again: its outcome is unknown
    assert {(await services.pushes.record(r.member_id, r.push_id)).status for r in records} == {"sent", "in_doubt"}
    assert await services.push_queue.pending() == 0


async def test_a_send_whose_answer_never_came_is_in_doubt_and_not_repeated(rig, make_sender, clock):
    services, sandbox = rig
    [member] = await joined(services, sandbox, 1)
    record = await services.pushes.plan(text_push(member.member_id, clock.now(), template=POINTS_NOTICE))
    await sandbox.client.fault("message/template/send", drop_next=1)    # the connection closes unanswered
    await (await make_sender(sandbox)).drain()
    assert (await services.pushes.record(member.member_id, record.push_id)).status == "in_doubt"
    assert await services.push_queue.in_doubt() == [(member.member_id, record.push_id)]
    assert [c["errcode"] for c in await sandbox.client.calls("message/template/send")] == [None]
