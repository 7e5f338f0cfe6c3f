from bot.handlers import build_router
from bot.menu import MENU, click_keys


def test_every_menu_key_has_a_handler():
    claimed = set(build_router().menus)
    assert [key for key in click_keys() if key not in claimed] == []


def test_menu_fits_the_platform_limits():
    buttons = MENU["button"]
    assert 1 <= len(buttons) <= 3
    assert all(len(b.get("sub_button", [])) <= 5 for b in buttons)
    assert all(len(b["name"].encode()) <= 16 for b in buttons)          # top-level names: ≤ 16 bytes
    assert all(len(s["name"].encode()) <= 60 for b in buttons for s in b.get("sub_button", []))


def test_click_keys_sees_nested_and_top_level_buttons():
    assert click_keys({"button": [{"type": "click", "name": "a", "key": "A"},
                                  {"name": "b", "sub_button": [{"type": "click", "name": "c", "key": "C"},
                                                               {"type": "view", "name": "d", "url": "x"}]}]}) == ["A", "C"]


def test_every_menu_handler_is_reachable_from_the_menu():
    assert sorted(build_router().menus) == sorted(click_keys())
