"""The community rules that need no Redis: a definition as WeChat accepts a tag, and what a member means."""
import pytest

from loyalty_core import errors
from loyalty_core.communities import Community, check_definition, pick

YOGA, WINE = Community("yoga", "瑜伽社", "", 100, 1), Community("wine", "Wine Circle", "", 101, 2)


@pytest.mark.parametrize("words, found", [("1", YOGA), ("第2个", WINE), (" 瑜伽社 ", YOGA), ("wine circle", WINE)])
def test_a_member_names_a_community_by_number_or_name(words, found):
    assert pick([YOGA, WINE], words) == found


@pytest.mark.parametrize("words", ["3", "0", "瑜伽", "", "yoga"])
def test_anything_else_names_no_community(words):
    with pytest.raises(errors.UnknownCommunity):
        pick([YOGA, WINE], words)


def test_a_definition_is_trimmed_to_what_is_stored():
    assert check_definition("yoga", "  瑜伽  社 ", " 周六 ") == ("yoga", "瑜伽 社", "周六")


@pytest.mark.parametrize("community_id, name, description", [
    ("", "瑜伽社", ""), ("瑜伽", "瑜伽社", ""), ("a" * 49, "瑜伽社", ""), ("yoga", "", ""), ("yoga", "x" * 31, ""),
    ("yoga", "12", ""), ("yoga", 12, ""), ("yoga", "瑜伽社", None), ("yoga", "瑜伽社", "长" * 201), (None, "瑜伽社", "")])
def test_a_definition_wechat_would_refuse_is_refused_first(community_id, name, description):
    with pytest.raises(errors.InvalidRequest):
        check_definition(community_id, name, description)
