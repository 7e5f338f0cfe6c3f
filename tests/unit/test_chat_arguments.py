"""What handlers read out of a member's words: page and item numbers, and counts in platform reports."""
import pytest

from bot.handlers.platform_events import _count
from bot.handlers.points import page_number
from bot.handlers.redeem import RedeemIntent, redeem_intent


@pytest.mark.parametrize("args, page", [("", 1), ("2", 2), ("0", 1), ("abc", 1), ("፩", 1), ("᧚", 1),
                                        ("9" * 30, 1_000_000)])
def test_page_numbers_fall_back_to_the_first_page(args, page):
    assert page_number(args) == page


@pytest.mark.parametrize("args, intent", [
    ("3", RedeemIntent(number=3)), ("第3个", RedeemIntent(number=3)), ("下一页", RedeemIntent(next_page=True)),
    ("፩", RedeemIntent()), ("", RedeemIntent()),
])
def test_redeem_intents(args, intent):
    assert redeem_intent(args) == intent


def test_report_counts_that_are_not_plain_numbers_count_as_zero():
    assert _count({"SentCount": "98", "ErrorCount": "፩", "FilterCount": ""}, "SentCount") == 98
    assert _count({"ErrorCount": "፩"}, "ErrorCount") == 0
