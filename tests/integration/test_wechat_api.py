"""WeChatApi against the sandbox: one shared token, compare-and-set refresh, and each error class."""
from __future__ import annotations

import asyncio

import pytest

from bot.wechat_api import (
    DailyQuotaReached, InvalidTemplate, NoConsent, NotFollowing, PermanentError, RetryableError, RetryPolicy,
    TokenError, Unauthorised,
)
from loyalty_core import keys

TEXT = {"msgtype": "text", "text": {"content": "您的积分已到账"}}


async def follower(sandbox, nickname: str = "Alice") -> str:
    """A follower with a 48 h customer-service window open (they just sent a message)."""
    member = await sandbox.client.add_member(nickname=nickname, follow=True, notify=False)
    await sandbox.client.text(member["openid"], "你好")
    return member["openid"]


async def token_calls(sandbox) -> tuple[int, int]:
    """(normal, forced) stable_token calls the sandbox answered."""
    calls = await sandbox.client.calls("stable_token")
    forced = sum(1 for c in calls if c["detail"].get("force_refresh"))
    return len(calls) - forced, forced


async def errcodes(sandbox, endpoint: str) -> list:
    return [c["errcode"] for c in await sandbox.client.calls(endpoint)]


# -- the access token ----------------------------------------------------------------------------------
async def test_two_clients_on_separate_sessions_share_one_token(sandbox, make_wechat_api, redis):
    await sandbox.client.settings(quotas=False)
    openids = await sandbox.client.add_followers(10)
    first, second = await make_wechat_api(sandbox), await make_wechat_api(sandbox)

    await asyncio.gather(*(api.send_custom(o, TEXT) for api in (first, second) for o in openids))

    assert await token_calls(sandbox) == (1, 0)
    assert (await sandbox.client.stats())["delivered"] == {"custom": 20}
    stored = await redis.hgetall(keys.access_token(sandbox.config.appid))
    assert len(stored["token"]) > 100 and float(stored["expires_at"]) > 0


@pytest.mark.parametrize("processes", [1, 5])
async def test_a_40001_storm_of_50_concurrent_calls_causes_exactly_one_refresh(sandbox, make_wechat_api, processes):
    await sandbox.client.settings(quotas=False)
    openids = await sandbox.client.add_followers(50)
    clients = [await make_wechat_api(sandbox) for _ in range(processes)]
    for client in clients:                                     # a token in Redis, held by every process
        await client.send_custom(openids[0], TEXT)
    await sandbox.client.fault("message/custom/send", token_storm=50)

    await asyncio.gather(*(clients[n % processes].send_custom(o, TEXT) for n, o in enumerate(openids)))

    # normal mode returned the very token that failed, so one force_refresh, then every call went through
    assert await token_calls(sandbox) == (2, 1)
    assert (await errcodes(sandbox, "message/custom/send")).count(40001) == 50
    assert (await sandbox.client.stats())["delivered"] == {"custom": 50 + processes}


async def test_a_token_another_process_replaced_is_read_from_redis_without_a_refresh(sandbox, make_wechat_api):
    openid = await follower(sandbox)
    here, elsewhere = await make_wechat_api(sandbox), await make_wechat_api(sandbox)
    await here.send_custom(openid, TEXT)
    await sandbox.client.fault("message/custom/send", token_storm=1)
    await elsewhere.send_custom(openid, TEXT)                  # forces a refresh: `here` holds a revoked token

    await here.send_custom(openid, TEXT)

    assert await token_calls(sandbox) == (2, 1)                # all of them made by `elsewhere`
    assert await errcodes(sandbox, "message/custom/send") == [0, 40001, 0, 40001, 0]


async def test_an_expired_token_42001_is_replaced_in_normal_mode_and_the_call_retried(sandbox, wechat_api):
    await sandbox.client.settings(quotas=False)
    [openid] = await sandbox.client.add_followers(1)
    await wechat_api.send_custom(openid, TEXT)
    await sandbox.client.advance(7200)                         # the platform's clock passes the token's life

    await wechat_api.send_custom(openid, TEXT)

    assert await errcodes(sandbox, "message/custom/send") == [0, 42001, 0]
    assert await token_calls(sandbox) == (2, 0)


async def test_inside_its_last_five_minutes_the_token_is_renewed_by_one_caller(sandbox, make_wechat_api):
    await sandbox.client.settings(quotas=False)
    openids = await sandbox.client.add_followers(20)
    now = [1_800_000_000.0]
    api = await make_wechat_api(sandbox, clock=lambda: now[0])
    await api.send_custom(openids[0], TEXT)
    now[0] += 7200 - 200
    await sandbox.client.advance(7200 - 200)                   # the platform renews in the last 5 minutes too

    await asyncio.gather(*(api.send_custom(o, TEXT) for o in openids))

    assert await token_calls(sandbox) == (2, 0)
    assert (await sandbox.client.stats())["calls"]["message/custom/send"] == {"0": 21}


async def test_while_another_process_renews_a_still_valid_token_calls_go_on_with_it(sandbox, make_wechat_api,
                                                                                     redis):
    await sandbox.client.settings(quotas=False)
    openids = await sandbox.client.add_followers(5)
    now = [1_800_000_000.0]
    first = await make_wechat_api(sandbox, clock=lambda: now[0])
    other = await make_wechat_api(sandbox, clock=lambda: now[0])
    await first.send_custom(openids[0], TEXT)
    now[0] += 7200 - 200
    await sandbox.client.advance(7200 - 200)
    lock = keys.access_token_lock(sandbox.config.appid)
    await redis.set(lock, "a-process-renewing-it", px=60_000)   # as a process in the middle of its renewal

    await asyncio.gather(*(other.send_custom(o, TEXT) for o in openids))
    await redis.delete(lock)                                   # that process went away without renewing
    await other.send_custom(openids[0], TEXT)

    calls = await sandbox.client.calls("message/custom/send")
    assert [c["token_serial"] for c in calls] == [1, 1, 1, 1, 1, 1, 2]
    assert await token_calls(sandbox) == (2, 0)


async def test_a_token_failing_again_after_the_refresh_raises_token_error_and_force_is_spaced(sandbox, wechat_api):
    openid = await follower(sandbox)
    await wechat_api.send_custom(openid, TEXT)
    await sandbox.client.fault("message/custom/send", errcode=40001, errcode_next=3)

    with pytest.raises(TokenError):
        await wechat_api.send_custom(openid, TEXT)             # 40001, forced refresh, 40001 again
    with pytest.raises(TokenError):
        await wechat_api.send_custom(openid, TEXT)             # 40001, but the last force was < 30 s ago

    assert await token_calls(sandbox) == (3, 1)
    assert await errcodes(sandbox, "message/custom/send") == [0, 40001, 40001, 40001]


# -- retryable errors -----------------------------------------------------------------------------------
async def test_system_busy_answers_are_retried_until_one_succeeds(sandbox, wechat_api):
    openid = await follower(sandbox)
    await sandbox.client.fault("message/custom/send", busy_next=2)

    await wechat_api.send_custom(openid, TEXT)

    assert await errcodes(sandbox, "message/custom/send") == [-1, -1, 0]
    assert len(await sandbox.client.delivered(openid, "custom")) == 1


async def test_a_rate_of_busy_answers_is_ridden_out_by_the_retries(sandbox, make_wechat_api):
    await sandbox.client.settings(quotas=False)
    openids = await sandbox.client.add_followers(20)
    api = await make_wechat_api(sandbox, retry=RetryPolicy(attempts=8, base_delay=0.001, max_delay=0.004))
    await sandbox.client.fault("message/custom/send", busy_rate=0.3, seed=7)

    for openid in openids:
        await api.send_custom(openid, TEXT)

    codes = await errcodes(sandbox, "message/custom/send")
    assert codes.count(0) == 20 and codes.count(-1) > 0
    assert (await sandbox.client.stats())["delivered"] == {"custom": 20}


async def test_dropped_connections_are_retried(sandbox, wechat_api):
    openid = await follower(sandbox)
    await sandbox.client.fault("message/custom/send", drop_next=2)

    await wechat_api.send_custom(openid, TEXT)

    assert await errcodes(sandbox, "message/custom/send") == [None, None, 0]
    assert len(await sandbox.client.delivered(openid, "custom")) == 1


async def test_gateway_errors_http_503_are_retried(sandbox, wechat_api):
    openid = await follower(sandbox)
    await sandbox.client.fault("message/custom/send", http_error_next=1)

    await wechat_api.send_custom(openid, TEXT)

    assert await errcodes(sandbox, "message/custom/send") == [503, 0]


async def test_a_mass_send_retried_too_fast_45066_is_retried_and_sent_once(sandbox, wechat_api):
    openids = await sandbox.client.add_followers(2)
    await sandbox.client.fault("message/mass/send", errcode=45066, errcode_next=1)

    result = await wechat_api.mass_send_to_openids(openids, TEXT, clientmsgid="weekly-7")

    assert not result.duplicate
    assert await errcodes(sandbox, "message/mass/send") == [45066, 0]
    assert [len(await sandbox.client.delivered(o, "mass")) for o in openids] == [1, 1]


async def test_retries_are_bounded(sandbox, wechat_api):
    openid = await follower(sandbox)
    await sandbox.client.fault("message/custom/send", busy_next=100)

    with pytest.raises(RetryableError) as raised:
        await wechat_api.send_custom(openid, TEXT)

    assert raised.value.errcode == -1
    assert await errcodes(sandbox, "message/custom/send") == [-1] * 4
    assert await sandbox.client.delivered(openid, "custom") == []


# -- permanent errors: raised at once, one call -----------------------------------------------------------
async def test_not_a_follower_43004_is_raised_at_once(sandbox, wechat_api):
    member = await sandbox.client.add_member(nickname="Gone", follow=True, notify=False)
    await sandbox.client.unfollow(member["openid"])

    with pytest.raises(NotFollowing) as raised:
        await wechat_api.send_custom(member["openid"], TEXT)
    with pytest.raises(NotFollowing):
        await wechat_api.send_custom("o-never-heard-of-this-one", TEXT)

    assert raised.value.errcode == 43004
    assert await errcodes(sandbox, "message/custom/send") == [43004, 43004]


@pytest.mark.parametrize("errcode, error_class", [
    (48001, Unauthorised), (45009, DailyQuotaReached), (40029, PermanentError), (-2, PermanentError),
])
async def test_permanent_errcodes_are_raised_at_once(sandbox, wechat_api, errcode, error_class):
    openid = await follower(sandbox)
    await sandbox.client.fault("message/custom/send", errcode=errcode, errcode_next=1)

    with pytest.raises(error_class) as raised:
        await wechat_api.send_custom(openid, TEXT)

    assert type(raised.value) is error_class and raised.value.errcode == errcode
    assert await errcodes(sandbox, "message/custom/send") == [errcode]


async def test_the_daily_call_quota_answers_45009(sandbox, wechat_api):
    await sandbox.move_to_morning()                            # the three calls fall on one platform day
    openid = await follower(sandbox)
    await sandbox.client.daily_limit("message/custom/send", 2)
    await wechat_api.send_custom(openid, TEXT)
    await wechat_api.send_custom(openid, TEXT)

    with pytest.raises(DailyQuotaReached):
        await wechat_api.send_custom(openid, TEXT)
    await sandbox.client.advance(86400)                        # a new day (and a new window)
    await sandbox.client.text(openid, "在吗")
    await wechat_api.send_custom(openid, TEXT)

    assert await errcodes(sandbox, "message/custom/send") == [0, 0, 45009, 42001, 0]


async def test_a_template_message_needs_an_approved_template(sandbox, wechat_api):
    openid = await follower(sandbox)

    msgid = await wechat_api.send_template(openid, "TPL_POINTS_CHANGED",
                                           {"thing1": {"value": "消费积分"}, "number2": {"value": "128"}})
    with pytest.raises(InvalidTemplate):
        await wechat_api.send_template(openid, "TPL_NOT_APPROVED", {"thing1": {"value": "x"}})

    [card] = await sandbox.client.delivered(openid, "template")
    assert card["message"]["msgid"] == msgid and card["message"]["template"]["title"] == "积分变动提醒"
    assert await errcodes(sandbox, "message/template/send") == [0, 40037]
    await sandbox.client.settle()
    [finished] = await sandbox.client.callbacks(event="TEMPLATESENDJOBFINISH")
    assert finished["fields"]["MsgID"] == msgid and finished["fields"]["Status"] == "success"


async def test_a_subscribe_message_spends_one_consent(sandbox, wechat_api):
    openid = await follower(sandbox)
    data = {"thing1": {"value": "春季新品发布会"}, "time2": {"value": "2026-03-01 14:00"}}
    with pytest.raises(NoConsent):
        await wechat_api.send_subscribe(openid, "SUB_EVENT_REMINDER", data)

    await sandbox.client.consent(openid, "SUB_EVENT_REMINDER")
    await wechat_api.send_subscribe(openid, "SUB_EVENT_REMINDER", data)
    with pytest.raises(NoConsent) as raised:
        await wechat_api.send_subscribe(openid, "SUB_EVENT_REMINDER", data)

    assert raised.value.errcode == 43101
    assert len(await sandbox.client.delivered(openid, "subscribe")) == 1
    assert await errcodes(sandbox, "message/subscribe/bizsend") == [43101, 0, 43101]


async def test_a_rejected_or_other_consent_allows_nothing(sandbox, wechat_api):
    openid = await follower(sandbox)
    await sandbox.client.consent(openid, "SUB_EVENT_REMINDER", accept=False)
    await sandbox.client.consent(openid, "SUB_BIRTHDAY_GIFT", "SUB_EVENT_REMINDER")

    await wechat_api.send_subscribe(openid, "SUB_BIRTHDAY_GIFT", {"thing1": {"value": "生日礼"}})
    await wechat_api.send_subscribe(openid, "SUB_EVENT_REMINDER", {"thing1": {"value": "活动"}})
    with pytest.raises(NoConsent):
        await wechat_api.send_subscribe(openid, "SUB_BIRTHDAY_GIFT", {"thing1": {"value": "生日礼"}})


async def test_the_concurrency_limit_bounds_calls_in_flight(sandbox, make_wechat_api):
    await sandbox.client.settings(quotas=False)
    openids = await sandbox.client.add_followers(30)
    api = await make_wechat_api(sandbox, concurrency=5)
    await sandbox.client.fault("message/custom/send", latency_ms=20)

    await asyncio.gather(*(api.send_custom(o, TEXT) for o in openids))

    stats = await sandbox.client.stats()
    assert 1 < stats["peak_in_flight"]["message/custom/send"] <= 5
    assert stats["delivered"] == {"custom": 30}
