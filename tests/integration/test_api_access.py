"""Who reaches which endpoint: the tills' secret the till endpoints, the admin secret /admin, and API keys
what their scopes name, a till key bound to a store only that store's purchases, refunds and coupon uses."""
from __future__ import annotations

import base64

import orjson
import pytest

from bot.api import API_MODULES
from bot.api.auth import MEMBER_SERVICE, PROGRAM, TILL, scopes_reaching
from loyalty_core import keys
from tests.integration.till import Till, snapshot

DINING = {"amount": "250.00", "category": "dining"}
ISSUE = {"member": {"openid": "o_ann"}, "template_id": "dining-200-30", "issue_key": "crm-1"}


@pytest.fixture
async def till(redis, start_bot, clock) -> Till:      # (redis first: the database is flushed before the follow)
    till = Till(await start_bot(), clock)
    await till.services.members.follow("o_ann", "evt:o_ann")
    return till


async def key_till(till: Till, *scopes: str, store: str = "") -> Till:
    made = await till.services.access_keys.add(scopes, store, label="test")
    return till.signing_with(made.secret, made.key.key_id)


async def coupon_of(till: Till, openid: str, nth: int) -> str:
    member_id = await till.services.members.member_id_for_openid(openid)
    return (await till.services.coupons.issue(member_id, "dining-200-30", f"test:{nth}")).grouped


def test_every_endpoint_names_the_scopes_that_reach_it():
    reached = {f"{route.method} {route.path}": scopes_reaching(route.handler)
               for module in API_MODULES for route in module.routes}
    assert reached == {
        "POST /purchases": TILL, "POST /refunds": TILL, "GET /coupons/{code}": TILL,
        "POST /coupons/{code}/redeem": TILL,
        "POST /points/redemptions": TILL, "POST /points/redemptions/{redemption_id}/reverse": TILL,
        "GET /points/quote": TILL, "GET /members/lookup": TILL, "GET /join-code": TILL,
        "POST /vouchers/{code}/collect": TILL, "GET /admin/sales": MEMBER_SERVICE,
        "POST /admin/coupons": MEMBER_SERVICE, "POST /admin/coupons/{code}/revoke": MEMBER_SERVICE,
        "POST /admin/members/{member_id}/birthday": MEMBER_SERVICE,
        "GET /admin/members/{member_id}/deliveries": MEMBER_SERVICE,
        "POST /admin/coupon-templates": PROGRAM, "POST /admin/catalogue-items": PROGRAM,
        "POST /admin/communities": PROGRAM, "POST /admin/communities/{community_id}/managers": PROGRAM,
        "GET /admin/communities/{community_id}": MEMBER_SERVICE,
        "GET /admin/broadcasts/{broadcast_id}": MEMBER_SERVICE,
        "POST /admin/events": PROGRAM, "GET /admin/events/{event_id}": MEMBER_SERVICE,
        "POST /admin/events/{event_id}/check-ins": MEMBER_SERVICE,
        "POST /admin/events/{event_id}/invitations": PROGRAM, "GET /admin/suggestions": MEMBER_SERVICE,
        "GET /admin/surveys/stores/{store_id}": MEMBER_SERVICE,
        "POST /admin/segments/preview": PROGRAM, "POST /admin/campaigns": PROGRAM,
        "GET /admin/campaigns/{campaign_id}": PROGRAM, "POST /admin/campaigns/{campaign_id}/cancel": PROGRAM,
        "GET /admin/campaigns/{campaign_id}/results": PROGRAM, "GET /admin/metrics": PROGRAM}


async def test_the_tills_secret_does_not_reach_the_admin_api_and_changes_nothing(till, redis):
    before = await snapshot(redis)
    refused = await till.post("/api/v1/admin/coupons", ISSUE)
    assert (refused.status, refused.error) == (403, "forbidden")
    assert refused.json["error"]["message"] == "the till secret does not reach this endpoint (admin or crm scope)"
    assert await snapshot(redis) == before
    assert (await till.admin.post("/api/v1/admin/coupons", ISSUE)).status == 201


async def test_the_admin_secret_does_not_reach_the_till_endpoints(till, redis):
    before = await snapshot(redis)
    refused = await till.admin.purchase({"openid": "o_ann"}, "100.00")
    assert (refused.status, refused.error) == (403, "forbidden")
    assert (await till.admin.get("/api/v1/coupons/K7QH-3WXN-9PZD-R")).error == "forbidden"
    assert await snapshot(redis) == before


async def test_a_key_reaches_what_its_scopes_name(till):
    crm = await key_till(till, "crm")
    assert (await crm.post("/api/v1/admin/coupons", ISSUE)).status == 201
    assert (await crm.post("/api/v1/admin/coupon-templates", {"id": "x"})).error == "forbidden"
    assert (await crm.purchase({"openid": "o_ann"}, "100.00")).error == "forbidden"
    both = await key_till(till, "till", "crm")
    assert (await both.purchase({"openid": "o_ann"}, "100.00")).status == 200
    assert (await both.post("/api/v1/admin/coupons", ISSUE | {"issue_key": "crm-2"})).status == 201
    admin = await key_till(till, "admin")
    assert (await admin.post("/api/v1/admin/coupons", ISSUE | {"issue_key": "crm-3"})).status == 201
    assert (await admin.purchase({"openid": "o_ann"}, "100.00")).error == "forbidden"


async def test_a_revoked_or_unknown_key_signs_nothing(till, redis):
    key = await key_till(till, "till")
    assert (await key.purchase({"openid": "o_ann"}, "100.00")).status == 200
    await till.services.access_keys.revoke(key.key_id)
    before = await snapshot(redis)
    for refused in (key, till.signing_with(key.secret, "k000000000000"), till.signing_with(key.secret, "../x")):
        answer = await refused.purchase({"openid": "o_ann"}, "100.00")
        assert (answer.status, answer.json["error"]) == (401, {"code": "unauthorized",
                                                               "message": "X-Key-Id names no active key"})
    assert await snapshot(redis) == before


async def test_a_key_sealed_under_another_pii_key_is_refused_not_a_500(start_bot, clock, caplog):
    first = Till(await start_bot(), clock)
    key = await key_till(first, "till")
    other = Till(await start_bot(pii_key=base64.b64encode(b"o" * 32).decode()), clock)   # PII_KEY changed
    answer = await other.signing_with(key.secret, key.key_id).purchase({"openid": "o_ann"}, "100.00")
    assert (answer.status, answer.error) == (401, "unauthorized")
    assert f"API key {key.key_id} does not open with this PII_KEY" in caplog.text


async def test_a_key_signs_with_its_own_secret_only(till):
    key = await key_till(till, "till")
    with_pos_secret = till.signing_with(till.secret, key.key_id)
    assert (await with_pos_secret.purchase({"openid": "o_ann"}, "100.00")).error == "bad_signature"


async def test_a_keys_secret_is_kept_sealed(till, redis):
    made = await till.services.access_keys.add(["till"], "S01", "S01 till 3")
    stored = await redis.hgetall(keys.api_key(made.key.key_id))
    assert made.secret not in orjson.dumps(stored).decode() and stored["secret_enc"].startswith("v1.")
    [listed] = await till.services.access_keys.list()
    assert (listed.key_id, listed.scopes, listed.store_id, listed.label) == (
        made.key.key_id, frozenset({"till"}), "S01", "S01 till 3")


# -- a till key bound to a store ------------------------------------------------------------------------
async def test_a_store_key_books_purchases_for_its_store_only(till, redis):
    s01 = await key_till(till, "till", store="S01")
    assert (await s01.purchase({"openid": "o_ann"}, "100.00", store_id="S01")).status == 200
    before = await snapshot(redis)
    elsewhere = await s01.purchase({"openid": "o_ann"}, "100.00", store_id="S02")
    assert (elsewhere.status, elsewhere.error) == (403, "forbidden")
    assert await snapshot(redis) == before
    body = s01.purchase_body({"openid": "o_ann"}, "50.00")
    del body["store_id"]
    assert (await s01.post("/api/v1/purchases", body)).status == 200
    member_id = await till.services.members.member_id_for_openid("o_ann")
    booked = orjson.loads(await redis.hget(keys.member_purchases(member_id), body["txn_id"]))
    assert booked["store"] == "S01"                                  # a purchase naming no store is the key's


async def test_a_store_key_refunds_its_own_stores_purchases_only(till, redis):
    s01 = await key_till(till, "till", store="S01")
    await till.purchase({"openid": "o_ann"}, "100.00", txn_id="T-s01", store_id="S01")
    await till.purchase({"openid": "o_ann"}, "100.00", txn_id="T-s02", store_id="S02")
    before = await snapshot(redis)
    elsewhere = await s01.refund("T-s02", "10.00")
    assert (elsewhere.status, elsewhere.error) == (403, "forbidden")
    assert await snapshot(redis) == before
    assert (await s01.refund("T-s01", "10.00")).status == 200
    assert (await till.refund("T-s02", "10.00")).status == 200       # the shared secret: any store


async def test_a_store_key_uses_coupons_in_its_store_only(till, redis):
    s01 = await key_till(till, "till", store="S01")
    first, second = await coupon_of(till, "o_ann", 1), await coupon_of(till, "o_ann", 2)
    before = await snapshot(redis)
    elsewhere = await s01.post(f"/api/v1/coupons/{first}/redeem", {"txn_id": "T-1", "store_id": "S02"} | DINING)
    assert (elsewhere.status, elsewhere.error) == (403, "forbidden")
    assert await snapshot(redis) == before
    used = await s01.post(f"/api/v1/coupons/{second}/redeem", {"txn_id": "T-2"} | DINING)
    assert used.status == 200 and used.json["discount"] == "30.00"
    assert (await s01.get(f"/api/v1/coupons/{first}?amount=250&store_id=S02")).error == "forbidden"
