"""What the push tests share: services on the test Redis, followers, pushes to them, and a look at the records."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services import Services, build_services
from bot.sms import LogSmsSender
from loyalty_core.push.model import Content, Notice, Push
from loyalty_core.push.planner import PushPolicy

POINTS_NOTICE = Notice("TPL_POINTS_CHANGED", {"thing1": "消费积分", "number2": "520"}, url="https://mall.example/p")


def push_services(redis, clock, policy: PushPolicy | None = None, partitions: int = 8) -> Services:
    return build_services(redis, clock, b"k" * 32, LogSmsSender(), push_policy=policy, push_partitions=partitions)


@dataclass(frozen=True)
class Follower:
    member_id: str
    openid: str


async def followers(services: Services, count: int, prefix: str = "oPushTest") -> list[Follower]:
    """Members who follow, named as the sandbox names its bulk followers (prefix + 8 digits), in order."""
    async def join(n: int) -> Follower:
        openid = f"{prefix}{n:08d}"
        return Follower((await services.members.follow(openid, f"join:{openid}")).member_id, openid)

    found: list[Follower] = []
    for start in range(0, count, 50):
        found += await asyncio.gather(*(join(n) for n in range(start, min(count, start + 50))))
    return found


def text_push(member_id: str, now: datetime, *, topic: str = "points_earned", kind: str = "service",
              text: str = "您的积分已到账", hours: float = 48, urgency: str = "any", dedup_key: str = "",
              push_id: str = "", template: Notice | None = None, mass: dict | None = None) -> Push:
    return Push(push_id=push_id, member_id=member_id, kind=kind, topic=topic, urgency=urgency,
                not_after=now + timedelta(hours=hours), dedup_key=dedup_key,
                content=Content.text(text, template=template, mass=mass))


async def message_window(services: Services, member: Follower, key: str = "") -> None:
    """The member writes to the account: a customer-service window of 5 messages in 48 hours."""
    await services.pushes.member_acted(member.member_id, "message", services.clock.now(),
                                       key or f"msg:{member.openid}:{services.clock.now().timestamp()}")
