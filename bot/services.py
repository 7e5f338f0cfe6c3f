"""Wires the core services to Redis, the clock and the outside world. One instance per process."""
from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from loyalty_core.clock import Clock
from loyalty_core.members import MemberService, SmsSender
from loyalty_core.pii import Pii
from loyalty_core.redis_store.members import RedisMemberStore
from loyalty_core.redis_store.outbox import Outbox
from loyalty_core.redis_store.scripts import Scripts


@dataclass
class Services:
    clock: Clock
    redis: Redis
    scripts: Scripts
    outbox: Outbox
    pii: Pii
    members: MemberService
    wechat: object | None = None   # bot.wechat_api.WeChatApi when the API is reachable


def build_services(redis: Redis, clock: Clock, pii_key: bytes, sms: SmsSender, wechat=None) -> Services:
    scripts = Scripts(redis)
    outbox = Outbox(redis, scripts)
    pii = Pii(pii_key)
    members = MemberService(RedisMemberStore(redis, scripts, outbox), pii, sms, clock)
    return Services(clock=clock, redis=redis, scripts=scripts, outbox=outbox, pii=pii, members=members,
                    wechat=wechat)
