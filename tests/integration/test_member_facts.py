"""Member facts kept from the ledger's events: a purchase, a refund and a coupon change what a segment finds,
through the consumer of the outbox stream, and the daily job moves members through the lifecycle."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.events import facts_consumer
from loyalty_core import keys
from tests.integration.till import Till


@pytest.fixture
async def mall(start_bot, clock):
    till = Till(await start_bot(), clock)
    return till, till.services, facts_consumer(till.services, "test")


async def join(services, openid: str) -> str:
    return (await services.members.follow(openid, f"evt:{openid}")).member_id


async def caught_up(services, consumer) -> None:
    await services.outbox.sweep(services.clock.now(), older_than_ms=0)
    await consumer.drain()


async def preview(till, segment: dict) -> dict:
    answer = await till.admin.post("/api/v1/admin/segments/preview", {"segment": segment})
    assert answer.status == 200, answer.json
    return answer.json


async def test_purchases_and_refunds_make_the_facts(mall):
    till, services, consumer = mall
    member_id = await join(services, "o_facts")
    await caught_up(services, consumer)
    facts = await services.facts.facts(member_id)
    assert (facts.stage, facts.spend_12m_fen, facts.tier) == ("potential", 0, "member")
    assert (await till.purchase({"openid": "o_facts"}, "300.00", "T-dining", category="dining")).status == 200
    await till.purchase({"openid": "o_facts"}, "200.00", category="fashion")
    await caught_up(services, consumer)
    facts = await services.facts.facts(member_id)
    assert (facts.stage, facts.spend_12m_fen, facts.purchases_12m, facts.preferred_category) == \
        ("new", 50_000, 2, "dining")
    assert facts.balance == 500 and facts.average_basket_fen == 25_000
    assert (await till.refund("T-dining", "150.00")).status == 200
    await caught_up(services, consumer)
    facts = await services.facts.facts(member_id)
    assert (facts.spend_12m_fen, facts.preferred_category) == (35_000, "fashion")
