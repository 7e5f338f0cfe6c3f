"""Points paying at the till over /api/v1: a payment, its reversal into the original lots, the quote, and every
refusal changing nothing."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from loyalty_core import keys
from tests.integration.till import Till, new_txn_id, snapshot


@pytest.fixture
async def till(start_bot, clock) -> Till:
    return Till(await start_bot(), clock)


async def member_with(till: Till, openid: str, amount: str) -> str:
    member_id = (await till.services.members.follow(openid, f"evt:{openid}")).member_id
    assert (await till.purchase({"openid": openid}, amount)).status == 200
    return member_id


async def pay(till: Till, openid: str, points: int, redemption_id: str | None = None, **extra):
    body = {"redemption_id": redemption_id or new_txn_id("P"), "member": {"openid": openid}, "points": points,
            "txn_id": extra.pop("txn_id", new_txn_id()), "store_id": "S01"} | extra
    return await till.post("/api/v1/points/redemptions", body)


async def lots(redis, member_id: str) -> dict:
    return {lot_id: json.loads(lot) for lot_id, lot in (await redis.hgetall(keys.points_lot_data(member_id))).items()}


async def test_points_pay_part_of_a_basket_oldest_lots_first_and_the_member_is_told(till, redis):
    member_id = await member_with(till, "o_pay", "800.00")
    till.clock.advance(days=40)
    assert (await till.purchase({"openid": "o_pay"}, "700.00")).status == 200
    answer = await pay(till, "o_pay", 1200, "P-1", amount="3000.00")
    assert answer.status == 200
    assert answer.json == {"redemption_id": "P-1", "points_spent": 1200, "cash_value": "12.00", "balance": 300,
                           "member_id": member_id, "txn_id": answer.json["txn_id"]}
    left = sorted((lot["expires_on"], lot["ref"], lot["remaining"]) for lot in (await lots(redis, member_id)).values())
    assert [points for _, _, points in left] == [300]          # the older lot went first, all of it
    types = [fields["type"] for _, fields in await redis.xrange(keys.OUTBOX_STREAM)]
    assert types.count("points_spent") == 1


async def test_the_same_payment_again_gets_the_first_answer_and_another_body_is_a_conflict(till, redis):
    await member_with(till, "o_twice", "900.00")
    first = await pay(till, "o_twice", 300, "P-2", txn_id="T-2")
    again = await pay(till, "o_twice", 300, "P-2", txn_id="T-2")
    assert again.status == 200 and again.json == first.json
    before = await snapshot(redis)
    other = await pay(till, "o_twice", 400, "P-2", txn_id="T-2")
    assert (other.status, other.error) == (409, "payment_conflict")
    assert await snapshot(redis) == before
    assert first.json["balance"] == 600


async def test_a_payment_the_balance_does_not_cover_is_refused_and_changes_nothing(till, redis):
    await member_with(till, "o_short", "250.00")
    before = await snapshot(redis)
    answer = await pay(till, "o_short", 300)
    assert (answer.status, answer.error) == (422, "insufficient_points")
    assert await snapshot(redis) == before


@pytest.mark.parametrize("points, amount, code", [
    (50, None, "invalid_points"),               # under the programme's minimum of 100
    (0, None, "invalid_points"),
    (1.5, None, "invalid_request"),
    ("300", None, "invalid_request"),
    (600, "10.00", "points_share_exceeded"),    # at most 50% of CNY 10.00 = 500 points
])
async def test_payments_the_rules_refuse(till, redis, points, amount, code):
    await member_with(till, "o_rules", "900.00")
    before = await snapshot(redis)
    answer = await pay(till, "o_rules", points, **({"amount": amount} if amount else {}))
    assert (answer.status, answer.error) == (422, code)
    assert await snapshot(redis) == before


async def test_fifty_concurrent_payments_of_a_balance_that_covers_ten(till, redis):
    member_id = await member_with(till, "o_rush", "1000.00")
    answers = await asyncio.gather(*(pay(till, "o_rush", 100, f"P-rush-{i}") for i in range(50)))
    statuses = [a.status for a in answers]
    assert statuses.count(200) == 10
    assert {a.error for a in answers if a.status != 200} == {"insufficient_points"}
    assert statuses.count(422) == 40
    account = await redis.hgetall(keys.points_account(member_id))
    assert int(account["balance"]) == 0 and int(account.get("debt", 0)) == 0
    assert sorted(a.json["balance"] for a in answers if a.status == 200) == list(range(0, 1000, 100))


async def test_a_reversal_puts_the_points_back_into_their_lots_once(till, redis):
    member_id = await member_with(till, "o_back", "800.00")
    till.clock.advance(days=10)
    assert (await till.purchase({"openid": "o_back"}, "500.00")).status == 200
    before = await lots(redis, member_id)
    assert (await pay(till, "o_back", 1000, "P-back")).status == 200
    assert await lots(redis, member_id) != before
    reversed_ = await till.post("/api/v1/points/redemptions/P-back/reverse", {"reason": "sale cancelled"})
    assert reversed_.status == 200
    assert reversed_.json == {"redemption_id": "P-back", "points_restored": 1000, "balance": 1300,
                              "member_id": member_id}
    assert await lots(redis, member_id) == before
    again = await till.post("/api/v1/points/redemptions/P-back/reverse", {"reason": "sale cancelled"})
    assert again.status == 200 and again.json == reversed_.json
    assert await lots(redis, member_id) == before
    types = [fields["type"] for _, fields in await redis.xrange(keys.OUTBOX_STREAM)]
    assert types.count("points_restored") == 1


async def test_reversing_a_payment_that_does_not_exist_is_404(till, redis):
    await member_with(till, "o_none", "300.00")
    before = await snapshot(redis)
    answer = await till.post("/api/v1/points/redemptions/P-nothing/reverse", {"reason": "sale cancelled"})
    assert (answer.status, answer.error) == (404, "unknown_redemption")
    assert await snapshot(redis) == before


async def test_the_quote_says_how_many_points_may_pay_and_uses_no_member_code(till, redis):
    member_id = await member_with(till, "o_quote", "2345.00")
    quote = await till.get("/api/v1/points/quote?openid=o_quote&amount=30.00")
    assert quote.status == 200
    assert quote.json == {"member_id": member_id, "balance": 2345, "points": 1500, "cash_value": "15.00",
                          "points_per_yuan": 100, "min_points": 100, "max_share_percent": 50}
    unbounded = await till.get("/api/v1/points/quote?openid=o_quote")
    assert (unbounded.json["points"], unbounded.json["cash_value"]) == (2345, "23.45")
    code = await till.services.member_codes.issue(member_id)
    before = await snapshot(redis)
    by_code = await till.get(f"/api/v1/points/quote?member_code={code.code}&amount=1.00")
    assert by_code.status == 200 and by_code.json["points"] == 0      # half of CNY 1.00 is under the minimum
    assert await snapshot(redis) == before
    paid = await till.post("/api/v1/points/redemptions", {
        "redemption_id": "P-code", "member": {"member_code": code.code}, "points": 100, "txn_id": "T-code",
        "store_id": "S01"})
    assert paid.status == 200
    purchase = await till.purchase({"member_code": code.code}, "88.00", txn_id="T-code")
    assert purchase.status == 200 and purchase.json["member_id"] == member_id    # the same sale, the same code


async def test_a_till_key_bound_to_a_store_reverses_only_its_own_stores_payments(till, redis):
    await member_with(till, "o_store", "900.00")
    assert (await pay(till, "o_store", 200, "P-store")).status == 200      # booked for S01
    made = await till.services.access_keys.add(["till"], "S02", "S02 till")
    other = till.signing_with(made.secret, made.key.key_id)
    answer = await other.post("/api/v1/points/redemptions/P-store/reverse", {"reason": "sale cancelled"})
    assert (answer.status, answer.error) == (403, "forbidden")


async def test_a_programme_without_points_payment_refuses_it_and_quotes_none(start_bot, clock, redis, tmp_path):
    text = (Path(__file__).parents[2] / "loyalty_core" / "program_default.toml").read_text()
    path = tmp_path / "program.toml"
    path.write_text(text.replace("[points.payment]\nenabled = true", "[points.payment]\nenabled = false"))
    till = Till(await start_bot(program_file=path), clock)
    await member_with(till, "o_off", "900.00")
    before = await snapshot(redis)
    answer = await pay(till, "o_off", 300)
    assert (answer.status, answer.error) == (422, "points_payment_off")
    assert await snapshot(redis) == before
    quote = await till.get("/api/v1/points/quote?openid=o_off")
    assert (quote.status, quote.json["balance"], quote.json["points"]) == (200, 900, 0)
