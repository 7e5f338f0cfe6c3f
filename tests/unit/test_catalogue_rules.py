"""The catalogue's pure rules (listing order, tiers, sale windows, the lottery draw) and the program
file's [coupons] and [catalogue] sections."""
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from loyalty_core.catalogue import CatalogueItem, Prize, draw, listing, on_sale, tier_reaches
from loyalty_core.clock import MALL_TZ
from loyalty_core.program import ProgramError, load_program, parse_catalogue_item, parse_program

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=MALL_TZ)
TIERS = ["member", "gold", "platinum", "diamond"]
DEFAULT = (Path(__file__).parents[2] / "loyalty_core" / "program_default.toml").read_text()


def item(item_id: str, points: int, **extra) -> CatalogueItem:
    return CatalogueItem(id=item_id, title=item_id, points=points, kind="coupon", template="t", **extra)


def test_the_listing_puts_what_the_member_can_afford_first_then_the_rest_then_sold_out():
    items = [item("pricey", 2000), item("cheap", 100), item("gone", 50), item("mid", 600),
             item("gold-only", 10, min_tier="gold"), item("later", 10, available_from=NOW + timedelta(days=1))]
    lines = listing(items, 700, "member", TIERS, NOW, {"gone": 0, "cheap": 5})
    assert [(line.number, line.item.id, line.affordable) for line in lines] == [
        (1, "cheap", True), (2, "mid", True), (3, "pricey", False), (4, "gone", True)]
    assert lines[3].sold_out and lines[0].left == 5 and lines[1].left is None


def test_tiers_and_sale_windows():
    assert tier_reaches("platinum", "gold", TIERS) and tier_reaches("gold", "gold", TIERS)
    assert not tier_reaches("member", "gold", TIERS) and not tier_reaches("gold", "nonsense", TIERS)
    assert tier_reaches("member", "", TIERS)
    limited = item("x", 1, available_from=NOW, available_until=NOW + timedelta(hours=1))
    assert on_sale(limited, NOW) and not on_sale(limited, NOW + timedelta(hours=1))
    assert not on_sale(limited, NOW - timedelta(seconds=1))


def test_a_draw_is_deterministic_in_its_seed_and_follows_the_weights():
    prizes = (Prize("coffee", 5, template="t"), Prize("200 points", 20, points=200), Prize("thanks", 75))
    assert draw(prizes, "redeem-abc") == draw(prizes, "redeem-abc")
    counts = Counter(draw(prizes, f"redeem-{n}").title for n in range(20_000))
    assert 0.04 < counts["coffee"] / 20_000 < 0.06 and 0.72 < counts["thanks"] / 20_000 < 0.78
    assert not prizes[2].is_prize and prizes[0].is_prize


def test_the_default_program_has_attractive_items_and_consistent_references():
    program = load_program()
    titles = {i.title: i for i in program.catalogue.items}
    assert titles["满200减30 餐饮券"].points == 500 and titles["星巴克中杯兑换券"].points == 800
    assert {i.kind for i in program.catalogue.items} == {"coupon", "voucher", "lottery"}
    assert {t.kind for t in program.coupons.templates} >= {"cash_off", "threshold", "percentage", "gift", "bogo"}
    assert program.catalogue.confirm_window == timedelta(minutes=2)


def edited(old: str, new: str) -> str:
    assert old in DEFAULT, old
    return DEFAULT.replace(old, new, 1)


@pytest.mark.parametrize("text, message", [
    (edited('kind = "threshold"', 'kind = "discount"'), "coupons.templates[0].kind: must be one of"),
    (edited('value = "30"', 'value = "30.001"'), "coupons.templates[0].value: must have at most 2 decimal places"),
    (edited('min_amount = "200"', 'min_amount = "20"'), "coupons.templates[0].min_amount: must be at least"),
    (edited("valid_days = 30\nper_member_limit = 3", "per_member_limit = 3"),
     "coupons.templates[0].valid_days: give either valid_days or valid_until"),
    (edited('id = "sbux-tall"', 'id = "dining-200-30"'), "coupons.templates[1].id: duplicate template id"),
    (edited("points = 500", "points = 0"), "catalogue.items[0].points: must be a whole number"),
    (edited('template = "dining-200-30"\nstock', 'stock'), "catalogue.items[0].template: is required"),
    (edited("stock = 500", "stock = -1"), "catalogue.items[0].stock: must be a whole number"),
    (edited("weight = 60", "weight = 0"), "catalogue.items[2].prizes[3].weight"),
    (edited("page_size = 5 ", "pagesize = 5 "), "catalogue.pagesize: unknown key"),
])
def test_mistakes_in_the_sections_name_their_key(text, message):
    with pytest.raises(ProgramError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        parse_program(text)


def test_references_to_unknown_templates_or_tiers_are_refused_at_load():
    with pytest.raises(ProgramError, match=r"catalogue.items\[0\].template: unknown coupon template 'nope'"):
        parse_program(edited('template = "dining-200-30"\nstock', 'template = "nope"\nstock'))
    with pytest.raises(ProgramError) as refused:
        parse_program(DEFAULT.replace('min_tier = "gold"', 'min_tier = "golden"'))
    assert str(refused.value).splitlines() == ["coupons.templates[5].min_tier: unknown tier 'golden'",
                                               "catalogue.items[5].min_tier: unknown tier 'golden'"]


def test_an_item_from_json_with_dates_as_text():
    raw = {"id": "x", "title": "限时", "points": 10, "kind": "voucher", "voucher": "杯子", "stock": 3,
           "available_from": "2026-06-01", "available_until": "2026-06-30"}
    parsed = parse_catalogue_item(raw)
    assert parsed.available_until == datetime(2026, 7, 1, tzinfo=MALL_TZ)
    assert replace(parsed, available_until=None).available_until is None
    assert CatalogueItem.from_dict(parsed.to_dict()) == parsed
