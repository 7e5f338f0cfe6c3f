"""One member resolver for the till and the staff endpoints: every kind finds the same member, each endpoint
takes only the kinds it names, and every miss gets the same precise error wherever it is asked."""
import pytest

from bot.services import build_services
from loyalty_core import errors
from loyalty_core.members import MEMBER_KINDS, MemberRef
from loyalty_core.till import TILL_MEMBER_KINDS
from tests.fixtures_bot import CapturingSms
from tests.integration.till import Till

KEY = b"r" * 32


@pytest.fixture
def sms():
    return CapturingSms()


@pytest.fixture
async def services(redis, clock, sms):
    return build_services(redis, clock, KEY, sms)


async def test_every_kind_names_the_same_member(services, sms):
    member_id = (await services.members.follow("o_ann", "evt:o_ann")).member_id
    await services.members.request_phone_code(member_id, "13800138000")
    await services.members.verify_phone(member_id, sms.codes["13800138000"])
    code = (await services.member_codes.issue(member_id)).code
    refs = [MemberRef("openid", "o_ann"), MemberRef("phone", "+86 138 0013 8000"), MemberRef("member_id", member_id),
            MemberRef("member_code", code)]
    found = [await services.resolver.resolve(ref, MEMBER_KINDS, txn_id="T-1") for ref in refs]
    assert found == [member_id] * 4


@pytest.mark.parametrize("ref, error", [
    (MemberRef("openid", "o_nobody"), errors.UnknownMember),
    (MemberRef("phone", "13900139000"), errors.UnknownMember),
    (MemberRef("phone", "12345"), errors.InvalidPhone),
    (MemberRef("member_id", "999999"), errors.UnknownMember),
    (MemberRef("member_id", "{m:1}:profile"), errors.UnknownMember),   # never becomes a key
    (MemberRef("member_code", "881234567890123456"), errors.InvalidMemberCode),
    (MemberRef("member_code", "not-a-code"), errors.InvalidMemberCode),
])
async def test_each_miss_has_its_precise_error(services, redis, ref, error):
    await services.members.follow("o_ann", "evt:o_ann")
    with pytest.raises(error):
        await services.resolver.resolve(ref, MEMBER_KINDS, txn_id="T-1")


async def test_a_kind_the_caller_does_not_accept_is_refused_before_any_lookup(services):
    member_id = (await services.members.follow("o_bob", "evt:o_bob")).member_id
    with pytest.raises(errors.InvalidRequest, match="exactly one of openid, phone, member_code"):
        await services.resolver.resolve(MemberRef("member_id", member_id), TILL_MEMBER_KINDS, txn_id="T-1")


async def test_a_member_code_names_a_member_only_for_a_purchase(services):
    member_id = (await services.members.follow("o_cat", "evt:o_cat")).member_id
    code = (await services.member_codes.issue(member_id)).code
    with pytest.raises(errors.InvalidRequest, match="one purchase"):
        await services.resolver.resolve(MemberRef("member_code", code), MEMBER_KINDS)
    assert await services.resolver.resolve(MemberRef("member_code", code), MEMBER_KINDS, txn_id="T-1") == member_id


# -- the endpoints say which kinds they take ---------------------------------------------------------------
@pytest.fixture
async def till(start_bot, clock) -> Till:
    return Till(await start_bot(), clock)


async def test_a_purchase_names_the_member_by_openid_phone_or_member_code_only(till):
    member_id = (await till.services.members.follow("o_dan", "evt:o_dan")).member_id
    by_id = await till.purchase({"member_id": member_id}, "10.00")
    assert (by_id.status, by_id.error) == (422, "invalid_request")
    assert by_id.json["error"]["message"] == "member must name exactly one of openid, phone, member_code"
    two = await till.purchase({"openid": "o_dan", "member_id": member_id}, "10.00")
    assert (two.status, two.error) == (422, "invalid_request")


async def test_a_coupon_issue_names_the_member_by_openid_phone_or_member_id_only(till):
    member_id = (await till.services.members.follow("o_eve", "evt:o_eve")).member_id
    code = (await till.services.member_codes.issue(member_id)).code
    body = {"template_id": "dining-200-30", "issue_key": "crm-1"}
    by_code = await till.admin.post("/api/v1/admin/coupons", body | {"member": {"member_code": code}})
    assert (by_code.status, by_code.json["error"]["message"]) == (
        422, "member must name exactly one of openid, phone, member_id")
    by_id = await till.admin.post("/api/v1/admin/coupons", body | {"member": {"member_id": member_id}})
    assert (by_id.status, by_id.json["member_id"]) == (201, member_id)
    unknown = await till.admin.post("/api/v1/admin/coupons", body | {"member": {"member_id": "999999"}})
    assert (unknown.status, unknown.error) == (404, "unknown_member")


async def test_the_staff_birthday_path_resolves_its_member_id_the_same_way(till):
    body = {"calendar": "solar", "date": "1990-05-20", "reason": "证件核对", "staff_id": "S007"}
    for member_id in ("999999", "abc"):
        answer = await till.admin.post(f"/api/v1/admin/members/{member_id}/birthday",
                                       body | {"request_id": f"r-{member_id}"})
        assert (answer.status, answer.error) == (404, "unknown_member")
