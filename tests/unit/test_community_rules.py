"""The community rules that need no Redis: a definition as WeChat accepts a tag, what a member or a manager
means, and a broadcast's audience as the planner decides it."""
from datetime import datetime

import pytest

from loyalty_core import errors
from loyalty_core.broadcasts import Audience, split_broadcast
from loyalty_core.clock import MALL_TZ
from loyalty_core.communities import Community, check_definition, pick
from loyalty_core.push.model import Decision

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=MALL_TZ)

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


@pytest.mark.parametrize("words, found", [
    ("瑜伽社 周六 8 点集合", (YOGA, None, "周六 8 点集合")),
    ("1 券 yoga-20 周六集合", (YOGA, "yoga-20", "周六集合")),
    ("Wine Circle 品鉴会\n第二行", (WINE, None, "品鉴会\n第二行")),
    ("wine circle 券 w-10 满减", (WINE, "w-10", "满减")),
    ("瑜伽社", (YOGA, None, ""))])
def test_a_broadcast_names_its_community_by_name_or_number_then_maybe_a_coupon(words, found):
    assert split_broadcast([YOGA, WINE], words) == found


def test_a_broadcast_to_no_community_is_refused():
    with pytest.raises(errors.UnknownCommunity):
        split_broadcast([YOGA, WINE], "跑步团 周六集合")


def test_the_audience_counts_each_decision_of_the_planner_once():
    decisions = [Decision.send("custom"), Decision.send("mass"), Decision.send("mass"), Decision.inbox(NOW),
                 Decision.defer(NOW, "quiet_hours"), Decision.drop("unsubscribed"), Decision("sent", channel="mass")]
    assert Audience.of(decisions) == Audience(members=7, custom=1, mass=3, none_left=1, later=1, unreachable=1)
