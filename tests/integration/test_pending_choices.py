"""The shared 确认/取消 flow: pending choices in the core, and a feature registering its own kind."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace as NS

import pytest

from bot.app_keys import SERVICES
from bot.handlers import build_router
from bot.router import DuplicateClaim, Router
from loyalty_core import errors
from loyalty_core.redis_store.pending import RedisPendingStore
from loyalty_core.redis_store.scripts import Scripts
from tests.wechat_peer import WeChatPeer


@pytest.fixture
async def pending(start_bot, redis):
    client = await start_bot()
    return client.server.app[SERVICES].pending


async def test_an_offer_is_confirmable_within_its_window_then_lapses(pending, clock):
    choice = await pending.offer("100001", "demo", {"n": 1}, "试一试", timedelta(seconds=30))
    within = await pending.offer("100011", "demo", {"n": 1}, "试一试", timedelta(seconds=30))
    clock.advance(seconds=29)
    assert (await pending.to_confirm("100011")).choice_id == within.choice_id
    clock.advance(seconds=1)
    assert (await pending.to_confirm("100011")).status == "confirming"   # claimed in time: it never lapses
    assert (await pending.current("100001")).choice_id == choice.choice_id
    with pytest.raises(errors.ChoiceLapsed) as lapsed:
        await pending.to_confirm("100001")
    assert lapsed.value.params == {"summary": "试一试"}
    with pytest.raises(errors.NothingToConfirm):                   # a lapsed choice is forgotten
        await pending.to_confirm("100001")


async def test_a_settled_choice_stays_confirmable_and_a_newer_offer_replaces_an_older_one(pending, clock):
    old = await pending.offer("100002", "demo", {}, "旧的")
    new = await pending.offer("100002", "demo", {}, "新的")
    await pending.settle("100002", old)                             # the older one's handler finishing late
    assert (await pending.current("100002")).status == "open"
    await pending.settle("100002", new)
    clock.advance(minutes=10)
    settled = await pending.to_confirm("100002")                    # a late repeat of 确认 reaches the handler
    assert (settled.choice_id, settled.status) == (new.choice_id, "done")
    with pytest.raises(errors.ChoiceConfirmed) as confirmed:         # done: too late to cancel
        await pending.cancel("100002")
    assert confirmed.value.params == {"summary": "新的", "done": True}


async def test_a_choice_claimed_by_confirm_is_not_cancelled_and_a_repeated_confirm_claims_it_again(pending):
    offered = await pending.offer("100004", "demo", {}, "试一试")
    claimed = await pending.to_confirm("100004")                     # its handler is running now
    assert (claimed.choice_id, claimed.status) == (offered.choice_id, "confirming")
    with pytest.raises(errors.ChoiceConfirmed) as confirmed:
        await pending.cancel("100004")
    assert confirmed.value.params == {"summary": "试一试", "done": False}
    assert (await pending.current("100004")).status == "confirming"
    assert (await pending.to_confirm("100004")).choice_id == offered.choice_id    # a double-tapped 确认


async def test_confirm_does_not_claim_a_choice_cancelled_or_replaced_since_it_was_read(pending, redis):
    offered = await pending.offer("100005", "demo", {}, "旧的")
    store = RedisPendingStore(redis, Scripts(redis))
    await pending.offer("100005", "demo", {}, "新的")
    assert not await store.claim("100005", offered.choice_id)
    assert (await pending.current("100005")).status == "open"
    await pending.cancel("100005")
    assert not await store.claim("100005", offered.choice_id)
    assert await pending.current("100005") is None


async def test_cancel_forgets_an_open_choice(pending):
    await pending.offer("100003", "demo", {}, "试一试")
    assert (await pending.cancel("100003")).summary == "试一试"
    assert await pending.current("100003") is None


def test_a_confirmation_kind_is_claimed_once():
    feature = Router("another redeem")
    feature.confirm("redeem")(lambda ctx, choice: None)
    with pytest.raises(DuplicateClaim, match="confirmation kind 'redeem' claimed twice"):
        build_router().include(feature)
    with pytest.raises(DuplicateClaim, match="lucky"):
        feature.confirm("lucky")(lambda ctx, choice: None)
        feature.confirm("lucky")(lambda ctx, choice: None)


async def test_another_feature_uses_the_same_confirm_flow(start_bot, redis):
    feature = Router("lucky number")
    calls: list[str] = []

    @feature.text("幸运数字")
    async def propose(ctx):
        await ctx.services.pending.offer(ctx.member, "lucky-number", {"number": ctx.args}, f"设置幸运数字 {ctx.args}")
        return ctx.render("choice_cancelled.txt", choice=NS(summary="待确认"))

    @feature.confirm("lucky-number")
    async def confirm_number(ctx, choice):
        calls.append(choice.choice_id)
        return ctx.render("choice_cancelled.txt", choice=NS(summary=f"已设置 {choice.payload['number']}"))

    peer = WeChatPeer(await start_bot(router=build_router().include(feature)))
    await peer.say("o_lucky", "幸运数字 7")
    assert "已设置 7" in await peer.say("o_lucky", "确认")
    assert "已设置 7" in await peer.say("o_lucky", "确认")        # a repeat: the same (idempotent) handler
    assert len(set(calls)) == 1
    await peer.say("o_lucky", "幸运数字 8")
    assert "设置幸运数字 8" in await peer.say("o_lucky", "取消")
