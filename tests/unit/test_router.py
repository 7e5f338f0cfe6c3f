import pytest

from bot.handlers import build_router
from bot.router import DuplicateClaim, Router, normalise_text


async def points(ctx):
    return None


async def other(ctx):
    return None


def test_a_keyword_claimed_twice_in_one_router_is_an_error():
    router = Router()
    router.text("积分", "points")(points)
    with pytest.raises(DuplicateClaim, match="积分"):
        router.text("积分")(other)


def test_a_claim_that_differs_only_by_width_or_case_is_still_a_duplicate():
    router = Router()
    router.text("Points")(points)
    with pytest.raises(DuplicateClaim):
        router.text("ＰＯＩＮＴＳ ")(other)


def test_two_feature_routers_claiming_one_menu_key_fail_when_included():
    first, second, root = Router("a"), Router("b"), Router("root")
    first.menu("MY_POINTS")(points)
    second.menu("MY_POINTS")(other)
    root.include(first)
    with pytest.raises(DuplicateClaim, match="MY_POINTS"):
        root.include(second)


def test_events_scenes_fallback_and_the_join_greeting_are_claimed_once():
    router = Router()
    router.event("subscribe")(points)
    router.scene("ref")(points)
    router.fallback(points)
    router.joined(points)
    with pytest.raises(DuplicateClaim, match="joined"):
        router.joined(other)
    greeting = Router("greeting")
    greeting.joined(points)
    with pytest.raises(DuplicateClaim, match="joined"):
        Router("root").include(greeting).include(greeting)
    with pytest.raises(DuplicateClaim):
        router.event("SUBSCRIBE")(other)
    with pytest.raises(DuplicateClaim):
        router.scene("ref")(other)
    with pytest.raises(DuplicateClaim):
        router.fallback(other)


@pytest.mark.parametrize("text, args", [
    ("积分", ""), ("  积分  ", ""), ("points", ""), ("POINTS", ""), ("ｐｏｉｎｔｓ", ""),
    ("明细 2", "2"), ("明细2", "2"), ("明细　２", "2"),
])
def test_keywords_match_after_normalisation(text, args):
    router = Router()
    router.text("积分", "points")(points)
    router.text("明细")(other)
    match = router.match_text(text)
    assert match is not None and match.args == args


def test_longest_keyword_wins_and_english_keywords_do_not_split_words():
    router = Router()
    router.text("生日")(points)
    router.text("农历生日")(other)
    router.text("points")(points)
    assert router.match_text("农历生日 1990-04-26").handler is other
    assert router.match_text("生日 1990-05-20").handler is points
    assert router.match_text("pointsy") is None
    assert router.match_text("points2").handler is points


def test_arguments_keep_their_case():
    router = Router()
    router.text("券")(points)
    assert router.match_text("券 AbC7-XYZ").args == "AbC7-XYZ"


def test_unknown_text_does_not_match():
    router = Router()
    router.text("积分")(points)
    assert router.match_text("你好") is None


def test_menu_click_and_scene_matching():
    router = Router()
    router.menu("MY_POINTS")(points)
    router.event("subscribe")(other)
    router.scene("ref")(points)
    assert router.match_event("click", "MY_POINTS").handler is points
    assert router.match_event("click", "NOPE") is None
    assert router.match_event("subscribe", "qrscene_ref:1").handler is other
    assert router.match_scene("ref:100001").args == "100001"
    assert router.match_scene("ref:") is None
    assert router.match_scene("other:1") is None


def test_normalise_text():
    assert normalise_text("  Ｈｅｌｌｏ　 World ") == "hello world"


def test_the_product_router_builds_and_lists_commands():
    router = build_router()
    assert router.fallback_handler is not None and router.join_handler is not None
    assert "subscribe" in router.events and "unsubscribe" in router.events
    assert {"绑定", "验证", "帮助"} <= set(router.keywords)
    assert all(command.summary for command in router.commands)
