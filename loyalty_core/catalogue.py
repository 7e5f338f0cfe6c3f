"""The rewards catalogue: what points buy, and the pure rules of who may redeem what, when.

Kinds of item: `coupon` (issues a coupon of a template), `voucher` (a physical voucher collected at
the service desk, held in the wallet like a coupon), `lottery` (a draw on a weighted prize table in
which "no prize" is a prize like any other). Stock is limited or unlimited (None); an item may have a
per-member limit, a minimum tier and a sale window (limited-time items).
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal, Mapping, Sequence, get_args

from pydantic import Field, model_validator

from .program_fields import (
    Duration, End, Flag, Ident, Invalid, OneOf, OptionalTemplateId, OptionalText, OptionalTierCode, Start, Text, Whole,
    raise_duplicates, rules,
)

ItemKind = Literal["coupon", "voucher", "lottery"]
ITEM_KINDS: tuple[str, ...] = get_args(ItemKind)


@rules
class Prize:
    title: Text
    weight: Annotated[int, Whole(1, 1_000_000)]
    template: OptionalTemplateId = ""   # a coupon template to issue …
    points: Annotated[int, Whole(0, 1_000_000)] = 0    # … or bonus points; neither = no prize

    @property
    def is_prize(self) -> bool:
        return bool(self.template or self.points)


@rules
class CatalogueItem:
    """A `[[catalogue.items]]` entry of the program file, or an item made through the admin API."""
    id: Ident
    title: Text
    points: Annotated[int, Whole(1, 10_000_000)]
    kind: Annotated[ItemKind, OneOf(*ITEM_KINDS)]
    template: OptionalTemplateId = ""   # coupon: the template issued
    voucher: OptionalText = ""          # voucher: what is handed over ("品牌帆布袋一个")
    valid_days: Annotated[int, Whole(1, 3650)] = 30     # voucher: days it can be collected
    prizes: tuple[Prize, ...] = ()      # lottery
    stock: Annotated[int | None, Whole(0, 100_000_000, optional=True)] = None    # None = unlimited
    per_member_limit: Annotated[int, Whole(0, 1000)] = 0                          # 0 = no limit
    min_tier: OptionalTierCode = ""
    available_from: Start = None
    available_until: End = None         # exclusive (a date in the file includes that day)
    description: OptionalText = ""
    member_day_only: Flag = False       # redeemable on the member day only (promotions.member_day)

    @model_validator(mode="after")
    def _complete(self) -> "CatalogueItem":
        key, given = {"coupon": ("template", self.template), "voucher": ("voucher", self.voucher),
                      "lottery": ("prizes", self.prizes)}[self.kind]
        if not given:
            raise Invalid(f"is required for a {self.kind} item", (key,))
        return self

    def to_dict(self) -> dict:
        raw = asdict(self)
        raw["prizes"] = [asdict(p) for p in self.prizes]
        for key in ("available_from", "available_until"):
            raw[key] = raw[key].isoformat() if raw[key] else None
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping) -> "CatalogueItem":
        """From to_dict(), also as stored through a Lua script (whose JSON writes an empty list as {})."""
        return cls(**{**raw, "prizes": raw.get("prizes") or ()})


@rules
class CatalogueRules:
    """The `[catalogue]` section of the program file."""
    items: tuple[CatalogueItem, ...] = ()
    page_size: Annotated[int, Whole(1, 20)] = 5                                  # items per page of 兑换
    # 确认 must follow 兑换 <n> within this
    confirm_window: Annotated[timedelta, Duration("seconds", 10, 3600)] = Field(
        timedelta(minutes=2), alias="confirm_seconds")
    # the sweeper settles redemptions left unfinished this long
    reservation_timeout: Annotated[timedelta, Duration("seconds", 10, 86_400)] = Field(
        timedelta(minutes=2), alias="reservation_timeout_seconds")

    @model_validator(mode="after")
    def _unique_ids(self) -> "CatalogueRules":
        raise_duplicates([i.id for i in self.items], "items", "item id")
        return self

    def item(self, item_id: str) -> CatalogueItem | None:
        return next((i for i in self.items if i.id == item_id), None)


# -- rules --------------------------------------------------------------------------------------------
def on_sale(item: CatalogueItem, now: datetime) -> bool:
    return (item.available_from is None or now >= item.available_from) and \
        (item.available_until is None or now < item.available_until)


def tier_reaches(member_tier: str, min_tier: str, order: Sequence[str]) -> bool:
    """Whether the member's tier is `min_tier` or above (`order`: the tier codes, lowest first)."""
    if not min_tier:
        return True
    if min_tier not in order:
        return False
    return member_tier in order and order.index(member_tier) >= order.index(min_tier)


@dataclass(frozen=True)
class Listed:
    """One line of the catalogue as a member sees it."""
    number: int
    item: CatalogueItem
    affordable: bool
    left: int | None                    # stock left; None = unlimited

    @property
    def sold_out(self) -> bool:
        return self.left is not None and self.left <= 0


def listing(items: Sequence[CatalogueItem], balance: int, member_tier: str, tier_order: Sequence[str], now: datetime,
            stock_left: Mapping[str, int | None], *, member_day: bool = False) -> list[Listed]:
    """The items this member may redeem now, numbered: what they can afford first (cheapest first),
    then what they cannot afford yet, then member-day-only items on other days, then what is sold out."""
    visible = [i for i in items if on_sale(i, now) and tier_reaches(member_tier, i.min_tier, tier_order)]

    def rank(item: CatalogueItem) -> tuple:
        left = stock_left.get(item.id)
        sold_out = left is not None and left <= 0
        return (sold_out, item.member_day_only and not member_day, item.points > balance, item.points, item.id)

    ordered = sorted(visible, key=rank)
    return [Listed(n, item, item.points <= balance, stock_left.get(item.id)) for n, item in enumerate(ordered, 1)]


def draw(prizes: Sequence[Prize], seed: str) -> Prize:
    """The prize a draw wins, by weight. Deterministic in the seed (the redemption id, itself random),
    so a retried or swept redemption draws the same prize; unguessable because the seed is."""
    total = sum(p.weight for p in prizes)
    ticket = int.from_bytes(hashlib.sha256(f"draw:{seed}".encode()).digest()[:8], "big") % total
    for prize in prizes:
        if ticket < prize.weight:
            return prize
        ticket -= prize.weight
    raise AssertionError("weights add up to the total")
