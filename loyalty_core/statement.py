"""The monthly statement (月度会员账单): each member's points earned and expiring, spend and progress to the next
tier, sent as a built-in recurring campaign (builtin_campaigns.py) on `[statement] day` at `at`.

The statement covers the calendar month of the day before it is sent, up to that day: sent on the 1st, the whole
month before; sent on the 25th, the 1st to the 24th. Its text is `{{ member.statement }}` in the campaign's text,
built here (the tier line in the words of 等级: "还差 12,300 元升级白金卡"). A member turns it off with 退订 and on
again with 订阅; the campaign's segment (`takes_statement`) leaves out those who turned it off.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Protocol

from .clock import MALL_TZ, Clock
from .program_fields import ClockTime, Flag, Text, Whole, rules

EARNING_KINDS = ("purchase", "grant", "refund")   # a refund's points taken back count against the month
MAX_HISTORY_PAGES = 20                   # a statement reads at most this many pages of the member's history


@rules
class StatementRules:
    """The `[statement]` section."""
    enabled: Flag = True
    day: Annotated[int, Whole(1, 28)] = 1
    at: ClockTime = time(10, 0)
    text: Text = "{{ member.name }}，{{ member.statement }}\n发送「退订」不再接收月度账单。"


def money(amount: Decimal) -> str:
    """12300 -> '12,300'; 12300.5 -> '12,300.50' (as the chat replies write CNY)."""
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def period_of(sent_on: date) -> tuple[date, date]:
    """The first and the last day the statement sent on `sent_on` covers."""
    last = sent_on - timedelta(days=1)
    return last.replace(day=1), last


@dataclass(frozen=True)
class StatementFacts:
    start: date
    end: date
    earned: int
    balance: int
    expiring: int
    expiring_on: date | None
    warning_days: int
    spend: Decimal
    tier_name: str
    next_tier_name: str                  # "" at the top tier
    to_next: Decimal


def statement_text(f: StatementFacts) -> str:
    lines = [f"{f.start.month}月会员账单（{f.start.month}月{f.start.day}日—{f.end.month}月{f.end.day}日）：",
             f"· 获得积分：{f.earned} 分",
             f"· 可用积分：{f.balance} 分"]
    if f.expiring and f.expiring_on:
        lines.append(f"· 即将过期：{f.expiring} 分将在 {f.warning_days} 天内过期，最早 "
                     f"{f.expiring_on.month}月{f.expiring_on.day}日到期")
    lines.append(f"· 消费金额：{money(f.spend)} 元")
    if f.next_tier_name:
        lines.append(f"· {f.tier_name}：还差 {money(f.to_next)} 元升级{f.next_tier_name}")
    else:
        lines.append(f"· {f.tier_name}：您已是最高等级，感谢一路相伴！")
    return "\n".join(lines)


class StatementPreferences(Protocol):
    async def turn_off(self, member_id: str) -> bool: ...       # True: it was on
    async def turn_on(self, member_id: str) -> bool: ...        # True: it was off
    async def is_off(self, member_id: str) -> bool: ...


class MonthlyStatements:
    def __init__(self, preferences: StatementPreferences, points, tiers, clock: Clock):
        self._preferences, self._points, self._tiers, self._clock = preferences, points, tiers, clock

    async def turn_off(self, member_id: str) -> bool:
        """退订: no more statements; False when it was off already."""
        return await self._preferences.turn_off(member_id)

    async def turn_on(self, member_id: str) -> bool:
        """订阅: statements again; False when it was on already."""
        return await self._preferences.turn_on(member_id)

    async def text(self, member_id: str) -> str:
        return statement_text(await self.facts(member_id))

    async def facts(self, member_id: str) -> StatementFacts:
        now = self._clock.now()
        start, end = period_of(now.astimezone(MALL_TZ).date())
        summary = await self._points.summary(member_id, now)
        status = await self._tiers.status(member_id, now)
        days = await self._tiers.spend_days(member_id)
        spend = Decimal(sum(fen for day, fen in days.items() if start <= day <= end)) / 100
        return StatementFacts(start=start, end=end, earned=await self._earned(member_id, start, end),
                              balance=summary.balance, expiring=summary.expiring_points,
                              expiring_on=summary.expiring_on, warning_days=summary.warning_days, spend=spend,
                              tier_name=status.tier.name, next_tier_name=status.next_tier.name if status.next_tier else "",
                              to_next=status.to_next)

    async def _earned(self, member_id: str, start: date, end: date) -> int:
        """Points earned by purchases and grants in the period, less those refunds took back (newest first)."""
        earned = 0
        for page in range(1, MAX_HISTORY_PAGES + 1):
            history = await self._points.history(member_id, page)
            for entry in history.entries:
                day = entry.at.astimezone(MALL_TZ).date()
                if day < start:
                    return earned
                if day <= end and entry.kind in EARNING_KINDS:
                    earned += entry.points
            if not history.has_more:
                break
        return max(earned, 0)


def sample_statement() -> str:
    """What a campaign text's check renders for `{{ member.statement }}`."""
    today = datetime(2026, 12, 1, tzinfo=MALL_TZ).date()
    start, end = period_of(today)
    return statement_text(StatementFacts(start, end, 320, 1280, 200, date(2026, 12, 20), 30, Decimal("3200"),
                                         "普卡", "金卡", Decimal("46800")))
