"""Coupon templates and the pure rules that price a coupon against a basket.

Kinds: cash_off (立减), threshold (满减, "30 off 200"), percentage (with an optional cap), gift (a
free item), bogo (buy one get one), voucher (a physical voucher collected at the service desk).

Rounding: money is Decimal CNY with 2 decimals (the fen). Only the percentage kind produces sub-fen
values; its discount is rounded DOWN to the fen (15 % of 99.99 = 14.9985 → 14.99), so a coupon never
gives more than it says. Every discount is then capped at the part of the basket the coupon covers: it
is never negative and never more than that part.

Categories: a coupon for some categories covers the whole basket when the till gives the basket one of
those categories; otherwise only the basket's item lines of those categories (their subtotal is what
the threshold, the percentage and the cap are measured against).
"""
from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Annotated, Iterable, Literal, Mapping, get_args

from pydantic import model_validator

from .program_fields import (
    Flag, Ident, Invalid, Money, Number, OneOf, OptionalDay, OptionalMoney, OptionalText, OptionalTierCode, Text, Whole,
    raise_duplicates, rules,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

CouponKind = Literal["cash_off", "threshold", "percentage", "gift", "bogo", "voucher"]
COUPON_KINDS: tuple[str, ...] = get_args(CouponKind)
CouponStatus = Literal["issued", "used", "expired", "revoked"]


@rules
class CouponTemplate:
    """A `[[coupons.templates]]` entry of the program file, or a template made through the admin API."""
    id: Ident
    title: Text
    kind: Annotated[CouponKind, OneOf(*COUPON_KINDS)]
    value: Money = ZERO                 # cash_off / threshold: CNY off; gift: the most the gift may be worth
    min_amount: Money = ZERO            # the basket must reach this (the threshold of 满减; optional otherwise)
    percent_off: Annotated[Decimal, Number(0, 99)] = ZERO   # percentage: 15 = 15 % off (八五折)
    max_discount: OptionalMoney = None  # percentage: the cap
    sku: OptionalText = ""              # gift / bogo: the item concerned ("" = any item of the categories)
    gift: OptionalText = ""             # gift / bogo / voucher: what the member gets, in words
    max_free: Annotated[int, Whole(1, 100)] = 1             # bogo: free units at most
    categories: tuple[Text, ...] = ()   # () = every category
    stores: tuple[Text, ...] = ()       # () = every store
    valid_from: OptionalDay = None      # fixed dates (inclusive) …
    valid_until: OptionalDay = None
    # … or valid for N days from the day of issue (that day counts as day 0)
    valid_days: Annotated[int | None, Whole(0, 3650, optional=True)] = None
    per_member_limit: Annotated[int, Whole(0, 1000)] = 0              # 0 = no limit
    total_limit: Annotated[int, Whole(0, 100_000_000)] = 0            # 0 = no limit
    min_tier: OptionalTierCode = ""
    member_day_only: Flag = False       # used at the till on the member day only (promotions.member_day)

    @model_validator(mode="after")
    def _complete(self) -> "CouponTemplate":
        needs = {"cash_off": ("value", self.value > 0), "threshold": ("value", self.value > 0),
                 "percentage": ("percent_off", self.percent_off > 0), "gift": ("gift", bool(self.gift or self.sku)),
                 "voucher": ("gift", bool(self.gift))}
        key, satisfied = needs.get(self.kind, ("kind", True))
        if not satisfied:
            raise Invalid(f"is required for a {self.kind} coupon", (key,))
        if self.kind == "threshold" and self.min_amount < self.value:
            raise Invalid("must be at least the value of a threshold coupon (满减)", ("min_amount",))
        if (self.valid_days is None) == (self.valid_until is None):
            raise Invalid("give either valid_days or valid_until (with optional valid_from)", ("valid_days",))
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise Invalid("must not be after valid_until", ("valid_from",))
        return self

    def to_dict(self) -> dict:
        raw = asdict(self)
        for key in ("value", "min_amount", "percent_off", "max_discount"):
            raw[key] = None if raw[key] is None else str(raw[key])
        for key in ("valid_from", "valid_until"):
            raw[key] = raw[key].isoformat() if raw[key] else None
        raw["categories"], raw["stores"] = list(self.categories), list(self.stores)
        return raw

    def issued_form(self) -> dict:
        """The template as an issued coupon keeps it: to_dict() without the terms that do not apply (no value, no
        limit, no categories…), since a coupon is stored for each member and most of a template's terms are empty.
        Only a term that is empty by default and empty here is left out (valid_days = 0 stays: it is a term), so
        a coupon's terms never depend on the defaults this class has later."""
        raw = self.to_dict()
        return {key: value for key, value in raw.items()
                if key not in _EMPTY_BY_DEFAULT or getattr(self, key) != _EMPTY_BY_DEFAULT[key]}

    @classmethod
    def from_dict(cls, raw: Mapping) -> "CouponTemplate":
        """From to_dict() or issued_form(), also as stored through a Lua script (whose JSON writes an empty list
        as {})."""
        return cls(**{**raw, "categories": raw.get("categories") or (), "stores": raw.get("stores") or ()})


# The terms whose default is nothing at all (no value, no limit, no categories, none of the dates…).
_EMPTY_BY_DEFAULT = {f.name: f.default for f in fields(CouponTemplate) if f.default is not MISSING and not f.default}


@dataclass(frozen=True)
class BasketItem:
    sku: str
    price: Decimal                      # per unit
    quantity: int = 1
    category: str = ""


@dataclass(frozen=True)
class Basket:
    amount: Decimal
    category: str = ""
    store_id: str = ""
    items: tuple[BasketItem, ...] = ()


@dataclass(frozen=True)
class CouponState:
    """What the rules need to know about one issued coupon besides its template."""
    status: str
    starts_at: datetime | None
    expires_at: datetime                # exclusive


@dataclass(frozen=True)
class Evaluation:
    applies: bool
    discount: Decimal = ZERO
    reason: str | None = None           # why it does not apply (a stable code)

    @classmethod
    def refused(cls, reason: str) -> "Evaluation":
        return cls(False, ZERO, reason)


# -- the rules ---------------------------------------------------------------------------------------
def evaluate(template: CouponTemplate, state: CouponState, basket: Basket, now: datetime) -> Evaluation:
    """Whether the coupon applies to the basket now, and its discount (0 whenever it does not)."""
    reason = status_refusal(state, now) or scope_refusal(template, basket)
    if reason:
        return Evaluation.refused(reason)
    discount, reason = _DISCOUNTS[template.kind](template, basket)
    if reason:
        return Evaluation.refused(reason)
    return Evaluation(True, clamp(discount, covered_amount(template, basket)))


def status_refusal(state: CouponState, now: datetime) -> str | None:
    if state.status in ("used", "revoked", "expired"):
        return {"used": "already_used", "revoked": "revoked", "expired": "expired"}[state.status]
    if now >= state.expires_at:
        return "expired"
    if state.starts_at is not None and now < state.starts_at:
        return "not_yet_valid"
    return None


def scope_refusal(template: CouponTemplate, basket: Basket) -> str | None:
    if template.stores and basket.store_id not in template.stores:
        return "wrong_store"
    if template.categories and basket.category not in template.categories and \
            not any(item.category in template.categories for item in basket.items):
        return "wrong_category"
    if covered_amount(template, basket) < template.min_amount:
        return "below_threshold"
    return None


def covered_amount(template: CouponTemplate, basket: Basket) -> Decimal:
    """The part of the basket the coupon's categories cover (all of it without a category restriction)."""
    if not template.categories or basket.category in template.categories:
        return basket.amount
    lines = sum((item.price * item.quantity for item in basket.items if item.category in template.categories), ZERO)
    return min(lines, basket.amount)


def clamp(discount: Decimal, amount: Decimal) -> Decimal:
    return max(ZERO, min(discount, amount)).quantize(CENT, rounding=ROUND_DOWN)


def _fixed(template: CouponTemplate, basket: Basket) -> tuple[Decimal, str | None]:
    return template.value, None


def _percentage(template: CouponTemplate, basket: Basket) -> tuple[Decimal, str | None]:
    discount = (covered_amount(template, basket) * template.percent_off / HUNDRED).quantize(CENT, rounding=ROUND_DOWN)
    if template.max_discount is not None:
        discount = min(discount, template.max_discount)
    return discount, None


def _gift(template: CouponTemplate, basket: Basket) -> tuple[Decimal, str | None]:
    """With item lines the gift item (or, without a sku, an item of the categories) must be among them:
    one unit free, the dearest, up to `value`; without lines, the till rang up the gift alone and the
    basket amount is its price."""
    if not basket.items:
        return _capped(basket.amount, template.value), None
    prices = [item.price for item in _eligible(template, basket.items) if item.quantity > 0]
    if not prices:
        return ZERO, "gift_not_in_basket"
    return _capped(max(prices), template.value), None


def _bogo(template: CouponTemplate, basket: Basket) -> tuple[Decimal, str | None]:
    """Every second eligible unit is free, dearest first, so each free unit is the cheaper of its pair."""
    if not basket.items:
        return ZERO, "items_required"
    units = sorted((item.price for item in _eligible(template, basket.items) for _ in range(max(item.quantity, 0))),
                   reverse=True)
    free = units[1::2][:template.max_free]
    if not free:
        return ZERO, "no_eligible_items"
    return sum(free, ZERO), None


def _voucher(template: CouponTemplate, basket: Basket) -> tuple[Decimal, str | None]:
    return ZERO, None


def _eligible(template: CouponTemplate, items: Iterable[BasketItem]) -> list[BasketItem]:
    if template.sku:
        return [item for item in items if item.sku == template.sku]
    if template.categories:
        return [item for item in items if item.category in template.categories]
    return list(items)


def _capped(price: Decimal, value: Decimal) -> Decimal:
    return min(price, value) if value > 0 else price


_DISCOUNTS = {"cash_off": _fixed, "threshold": _fixed, "percentage": _percentage, "gift": _gift, "bogo": _bogo,
              "voucher": _voucher}


# -- validity -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Validity:
    starts_at: datetime | None
    expires_at: datetime                # exclusive: the first moment the coupon is no longer valid
    last_day: date                      # what members are told: 至12月31日


def validity_at_issue(template: CouponTemplate, issued_at: datetime) -> Validity | None:
    """The coupon's validity if issued now; None when the template's fixed window is already over.
    Days are the mall's calendar days (issued_at carries the mall's time zone)."""
    tz = issued_at.tzinfo
    if template.valid_days is not None:
        last_day = issued_at.date() + timedelta(days=template.valid_days)
        starts_at = None
    else:
        last_day = template.valid_until
        starts_at = datetime.combine(template.valid_from, datetime.min.time(), tz) if template.valid_from else None
    expires_at = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tz)
    if expires_at <= issued_at:
        return None
    return Validity(starts_at, expires_at, last_day)


# -- plain Chinese ------------------------------------------------------------------------------------
def yuan(amount: Decimal) -> str:
    """30.00 -> '30', 12.50 -> '12.5': how prices are written on a coupon."""
    text = f"{amount.quantize(CENT):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def terms_zh(template: CouponTemplate, last_day: date | None, category_names: Mapping[str, str] = {}) -> str:
    """满200减30，餐饮可用，至12月31日"""
    parts = [_headline(template)]
    if template.min_amount > 0 and template.kind != "threshold":
        parts.append(f"满{yuan(template.min_amount)}可用")
    if template.categories:
        parts.append("、".join(category_names.get(c, c) for c in template.categories) + "可用")
    if template.stores:
        parts.append("限" + "、".join(template.stores) + "门店")
    if last_day is not None:
        parts.append(f"至{last_day.month}月{last_day.day}日")
    return "，".join(parts)


def _headline(template: CouponTemplate) -> str:
    kind = template.kind
    if kind == "cash_off":
        return f"立减{yuan(template.value)}元"
    if kind == "threshold":
        return f"满{yuan(template.min_amount)}减{yuan(template.value)}"
    if kind == "percentage":
        text = f"{yuan((HUNDRED - template.percent_off) / 10)}折"
        return text + (f"（最高减{yuan(template.max_discount)}元）" if template.max_discount is not None else "")
    if kind == "gift":
        return f"免费兑换{template.gift or template.title}"
    if kind == "bogo":
        return f"{template.gift or '指定商品'}买一送一"
    return f"凭券领取{template.gift or template.title}"


@rules
class CouponRules:
    """The `[coupons]` section of the program file: templates, and the names of till categories."""
    templates: tuple[CouponTemplate, ...] = ()
    category_names: dict[str, Text] = field(default_factory=dict)     # {"dining": "餐饮", …}
    expiry_reminder_days: Annotated[int, Whole(0, 30)] = 3            # remind this many days ahead; 0 = never

    @model_validator(mode="after")
    def _unique_ids(self) -> "CouponRules":
        raise_duplicates([t.id for t in self.templates], "templates", "template id")
        return self

    def template(self, template_id: str) -> CouponTemplate | None:
        return next((t for t in self.templates if t.id == template_id), None)

    @property
    def names(self) -> dict[str, str]:
        return dict(self.category_names)
