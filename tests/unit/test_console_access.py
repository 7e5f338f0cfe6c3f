"""The console's pure rules: what each role may do, what a password must be, a form's CSRF token check."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from loyalty_core import errors
from loyalty_core.console import checked_reason
from loyalty_core.console_access import (ROLES, Permission, check_password_policy, checked_email, checked_role,
                                         csrf_matches, may, new_token)


def test_an_admin_may_do_everything_and_no_other_role_manages_users_or_reads_the_audit_log():
    assert all(may("admin", permission) for permission in Permission)
    for role in set(ROLES) - {"admin"}:
        assert not may(role, Permission.USERS) and not may(role, Permission.AUDIT)


@pytest.mark.parametrize(("role", "permission", "allowed"), [
    ("marketer", Permission.CAMPAIGNS, True), ("marketer", Permission.MEMBERS_ACT, False),
    ("community_manager", Permission.DASHBOARD, True), ("community_manager", Permission.CAMPAIGNS, False),
    ("service_staff", Permission.MEMBERS_ACT, True), ("service_staff", Permission.DASHBOARD, False),
    ("marketer", Permission.CATALOGUE, True), ("marketer", Permission.COMMUNITIES, False),
    ("community_manager", Permission.COMMUNITIES, True), ("community_manager", Permission.EVENTS, True),
    ("community_manager", Permission.CATALOGUE, False), ("community_manager", Permission.FEEDBACK, False),
    ("service_staff", Permission.FEEDBACK, True), ("service_staff", Permission.EVENTS, False),
    ("nobody", Permission.MEMBERS_VIEW, False)])
def test_each_role_has_its_own_permissions(role, permission, allowed):
    assert may(role, permission) is allowed


def test_an_unknown_role_is_refused_naming_the_roles():
    with pytest.raises(errors.InvalidConsoleUser, match="admin, marketer, community_manager, service_staff"):
        checked_role("owner")


@pytest.mark.parametrize(("password", "problem"), [
    ("short", "at least 12"), ("aaaaaaaaaaaaaaaa", "5 different"), ("x" * 129, "at most 128"),
    ("my name is Mia!!", "email's name")])
def test_a_weak_password_is_refused_with_the_reason(password, problem):
    with pytest.raises(errors.WeakPassword, match=problem):
        check_password_policy(password, "mia@mall.test")


def test_a_good_password_passes():
    check_password_policy("correct horse battery", "mia@mall.test")


def test_an_email_is_trimmed_and_lower_cased_and_a_broken_one_refused():
    assert checked_email("  Admin@Demo ") == "admin@demo"
    for broken in ("", "no-at-sign", "a@b@c", "two words@mall.test"):
        with pytest.raises(errors.InvalidConsoleUser):
            checked_email(broken)


@given(st.text(min_size=1, max_size=60), st.text(max_size=60))
def test_a_csrf_token_matches_only_itself(token, other):
    assert csrf_matches(token, token)
    assert csrf_matches(token, other) is (token == other)


def test_a_missing_token_never_matches():
    assert not csrf_matches(None, None) and not csrf_matches("", "") and not csrf_matches(new_token(), None)


def test_a_reason_is_required_and_kept_to_one_line():
    assert checked_reason("  lost\n receipt ") == "lost receipt"
    for missing in ("", "   ", None):
        with pytest.raises(errors.ReasonRequired):
            checked_reason(missing)
    with pytest.raises(errors.ReasonRequired, match="at most 200"):
        checked_reason("x" * 201)
