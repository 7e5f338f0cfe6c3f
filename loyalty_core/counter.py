"""The member at the counter: who a till or the service desk is serving, before anything is booked.

A lookup names the member by member code, phone or openid and answers the tier with its name and every benefit
the member enjoys (the VIP lane, the Diamond welcome: the staff see what to offer), a masked name, and whether
the birthday falls in this month; a member code is not used up (it stays valid for the purchase). The same
answer serves the operator console's member page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from .clock import MALL_TZ, Clock
from .members import MemberRef, MemberResolver
from .points import mask_name
from .tiers import TierService
from .till import TILL_MEMBER_KINDS


@dataclass(frozen=True)
class MemberAtCounter:
    member_id: str
    tier: str
    tier_name: str
    benefits: tuple[str, ...]       # all the member enjoys, the tier's new ones first
    display_name: str               # masked: 王** or 会员 10**23
    birthday_this_month: bool


class BirthdayMonths(Protocol):
    async def in_birthday_month(self, member_id: str, day: date) -> bool:
        """Whether the member's birthday (solar or lunar) is kept in the calendar month of `day`."""


class Nicknames(Protocol):
    async def get(self, member_id: str): ...


class Counter:
    def __init__(self, resolver: MemberResolver, members: Nicknames, tiers: TierService, birthdays: BirthdayMonths,
                 clock: Clock):
        self._resolver = resolver
        self._members = members
        self._tiers = tiers
        self._birthdays = birthdays
        self._clock = clock

    async def lookup(self, ref: MemberRef) -> MemberAtCounter:
        """Raises InvalidMemberCode, InvalidPhone, UnknownMember as any till request does."""
        member_id = await self._resolver.peek(ref, TILL_MEMBER_KINDS)
        now = self._clock.now()
        member = await self._members.get(member_id)
        status = await self._tiers.status(member_id, now)
        return MemberAtCounter(
            member_id=member_id, tier=status.tier.code, tier_name=status.tier.name, benefits=status.benefits.all,
            display_name=mask_name(member.nickname, member_id),
            birthday_this_month=await self._birthdays.in_birthday_month(member_id, now.astimezone(MALL_TZ).date()))
