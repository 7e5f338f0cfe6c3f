"""The one list of a member's personal data: every key of a member in loyalty_core/keys.py is in the export (with
what erasure does with it) or left out with its reason, and erasure deletes what holds personal data."""
from __future__ import annotations

import inspect

from loyalty_core import keys
from loyalty_core.personal_data import LEFT_OUT, MEMBER_KEYS, PERSONAL_PROFILE_FIELDS


def member_key_functions() -> set[str]:
    return {name for name, function in vars(keys).items()
            if inspect.isfunction(function) and next(iter(inspect.signature(function).parameters), "") == "member_id"}


def test_every_key_of_a_member_is_exported_or_left_out_with_a_reason():
    exported = {entry.key.__name__ for entry in MEMBER_KEYS}
    assert exported.isdisjoint(LEFT_OUT)
    assert member_key_functions() == exported | set(LEFT_OUT)
    assert all(reason for reason in LEFT_OUT.values()) and all(entry.why for entry in MEMBER_KEYS)


def test_each_section_is_named_once_and_erasure_only_keeps_or_deletes():
    sections = [entry.section for entry in MEMBER_KEYS]
    assert len(sections) == len(set(sections))
    assert {entry.erase for entry in MEMBER_KEYS} == {"keep", "delete"}


def test_what_holds_personal_data_is_deleted_and_the_books_are_kept():
    erase = {entry.key.__name__: entry.erase for entry in MEMBER_KEYS}
    for holds_personal_data in ("phone_challenge", "member_birthday", "member_birthday_audit", "member_pushes",
                                "member_deliveries", "member_pending_choice", "member_push_facts"):
        assert erase[holds_personal_data] == "delete"
    for books in ("points_account", "points_history", "member_purchases", "member_coupons", "member_redemptions"):
        assert erase[books] == "keep"


def test_the_profiles_personal_fields_include_what_a_member_import_adds():
    assert {"openid", "nickname", "phone_enc", "phone_hash", "name_enc", "email_enc", "gender",
            "member_no"} <= set(PERSONAL_PROFILE_FIELDS)
