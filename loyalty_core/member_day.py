"""The member day (会员日): the days it falls on, the rewards only that day may redeem, and its lottery.

The day is `promotions.member_day`: a day of the month (1-31; a month without that day holds it on its last day,
so the 31st is in February the 28th or 29th), or a weekday ("wed": every Wednesday); 0 turns it off. On it
purchases earn `member_day_multiplier`, catalogue items and coupon templates marked `member_day_only` may be
redeemed (on no other day), and each member may draw the lottery of `[member_day]` once. The day before, the
built-in campaign `member-day-<date>` announces it.

The lottery: a prize is drawn by weight from a ticket in [0, total weight); a prize whose stock for that member
day is used up turns its ticket into "no prize" (so the odds of the other prizes stay as the file states).
The draw, the member's once-per-day mark and the stock are one script in the member day's own slot.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Annotated, Any, Protocol, Sequence

from pydantic import model_validator

import logging

from . import errors
from .clock import MALL_TZ
from .program_fields import ClockTime, Flag, Invalid, OptionalTemplateId, Text, Whole, rules

log = logging.getLogger("loyalty_core.member_day")
ISSUE_REFUSALS = (errors.CouponIssueLimit, errors.CouponMemberLimit, errors.CouponNotIssuable, errors.TierTooLow)

WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
NO_PRIZE = "谢谢参与"


def member_day_rule(value: Any) -> int | str:
    """A day of the month 0-31 (0 = none) or a weekday code mon … sun."""
    if isinstance(value, str) and value.strip().lower()[:3] in WEEKDAY_CODES:
        return value.strip().lower()[:3]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 31:
        return value
    raise Invalid("must be a day of the month (1 to 31), a weekday (mon, tue, wed, thu, fri, sat, sun), "
                  "or 0 for none")


def is_member_day(day: date, rule: int | str) -> bool:
    if isinstance(rule, str):
        return day.isoweekday() == WEEKDAY_CODES.index(rule) + 1
    if not rule:
        return False
    return day.day == min(rule, calendar.monthrange(day.year, day.month)[1])


def next_member_day(after: date, rule: int | str) -> date | None:
    """The first member day after `after` (None when there is no member day)."""
    if not rule:
        return None
    day = after + timedelta(days=1)
    while not is_member_day(day, rule):     # at most a month and a bit of days
        day += timedelta(days=1)
    return day


def member_day_on_or_after(day: date, rule: int | str) -> date | None:
    return day if is_member_day(day, rule) else next_member_day(day, rule)


def day_zh(day: date) -> str:
    return f"{day.month}月{day.day}日"


def rule_zh(rule: int | str) -> str:
    """每月18日 / 每周三; "" when there is no member day."""
    if isinstance(rule, str):
        return f"每{WEEKDAY_ZH[WEEKDAY_CODES.index(rule)]}"
    return f"每月{rule}日" if rule else ""


# -- the program file's [member_day] -------------------------------------------------------------------
@rules
class LotteryPrize:
    title: Text
    weight: Annotated[int, Whole(1, 1_000_000)]
    template: OptionalTemplateId = ""     # the coupon issued at once; "" = no prize (谢谢参与)
    stock: Annotated[int | None, Whole(0, 100_000_000, optional=True)] = None    # per member day; None = unlimited

    @property
    def is_prize(self) -> bool:
        return bool(self.template)


@rules
class MemberDayRules:
    """The `[member_day]` section (the day itself is promotions.member_day)."""
    lottery: Flag = True
    prizes: tuple[LotteryPrize, ...] = ()
    announce: Flag = True                 # the day before: a campaign to every member
    announce_at: ClockTime = time(18, 0)
    announce_text: Text = "{{ member.name }}，明天（{{ day }}）是会员日！"
    announce_coupon: OptionalTemplateId = ""
    announce_mass: Flag = False           # members whose text is the same may get it in one mass send

    @model_validator(mode="after")
    def _a_prize_to_win(self) -> "MemberDayRules":
        if self.lottery and self.prizes and not any(p.is_prize for p in self.prizes):
            raise Invalid("list at least one prize with a coupon template (or set lottery = false)", ("prizes",))
        return self


@dataclass(frozen=True)
class Draw:
    day: date
    prize: LotteryPrize | None            # None: 谢谢参与
    first: bool                           # False: the member had drawn already today (this is that draw)
    coupon: Any = None                    # the coupon issued (a Coupon), when the prize is one

    @property
    def title(self) -> str:
        return self.prize.title if self.prize else NO_PRIZE


def prize_for(prizes: Sequence[LotteryPrize], ticket: int, used: Sequence[int]) -> int:
    """The index of the prize `ticket` wins (-1: none), `used[i]` being prize i's stock used today."""
    for i, prize in enumerate(prizes):
        if ticket < prize.weight:
            sold_out = prize.stock is not None and used[i] >= prize.stock
            return i if prize.is_prize and not sold_out else -1
        ticket -= prize.weight
    return -1


class LotteryStore(Protocol):
    async def draw(self, day: date, member_id: str, prizes: list[dict], ticket: int) -> tuple[int, bool]:
        """(prize index or -1, first draw of the member that day); once per member and day, atomically."""


class CouponIssuer(Protocol):
    async def issue(self, member_id: str, template_id: str, issue_key: str, *, source: str = ""): ...


class MemberDayLottery:
    def __init__(self, store: LotteryStore, coupons: CouponIssuer, program, clock, random_ticket):
        self._store, self._coupons, self._program, self._clock = store, coupons, program, clock
        self._ticket = random_ticket              # (total) -> a random int in [0, total)

    @property
    def _rules(self) -> MemberDayRules:
        return self._program.member_day

    async def draw(self, member_id: str) -> Draw:
        """The member's draw today: the prize (its coupon issued at once) or 谢谢参与; a second 抽奖 the same
        day answers the first draw. Raises NotMemberDay (naming the next one) on other days."""
        today = self._clock.now().astimezone(MALL_TZ).date()
        rule = self._program.promotions.member_day
        prizes = self._rules.prizes
        if not (self._rules.lottery and prizes):
            raise errors.LotteryClosed(next_day="", next_on=None)         # no lottery in the programme
        if not is_member_day(today, rule):
            raise not_member_day(today, rule, errors.LotteryClosed)
        total = sum(p.weight for p in prizes)
        index, first = await self._store.draw(today, member_id, [_prize_row(p) for p in prizes],
                                              self._ticket(total))
        prize = prizes[index] if 0 <= index < len(prizes) else None
        coupon = None
        if prize is not None:      # a repeat 抽奖 issues it again by the same key: the first coupon, or a retry
            try:
                coupon = await self._coupons.issue(member_id, prize.template,
                                                   f"member-day-lottery:{today.isoformat()}",
                                                   source="member_day_lottery")
            except ISSUE_REFUSALS as problem:
                log.warning("member day lottery: prize coupon %s not issued to %s (%s)", prize.template,
                            member_id, problem.code)
        return Draw(today, prize, first, coupon)


def _prize_row(prize: LotteryPrize) -> dict:
    return {"weight": prize.weight, "prize": prize.is_prize, "stock": -1 if prize.stock is None else prize.stock}


def not_member_day(today: date, rule: int | str, error: type = errors.NotMemberDay) -> errors.NotMemberDay:
    upcoming = next_member_day(today, rule)
    return error(next_day=day_zh(upcoming) if upcoming else "", next_on=upcoming.isoformat() if upcoming else None)
