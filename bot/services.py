"""Wires the core services to Redis, the clock and the outside world. One instance per process."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from redis.asyncio import Redis

from loyalty_core.channels import ChannelFacts
from loyalty_core.clock import Clock
from loyalty_core.member_code import MemberCodeService
from loyalty_core.members import MemberService, SmsSender
from loyalty_core.pii import Pii
from loyalty_core.points import BirthdayWindows, PointsService
from loyalty_core.program import Program, load_program
from loyalty_core.redis_store.batching import Batcher
from loyalty_core.redis_store.ledger import RedisLedgerStore
from loyalty_core.redis_store.members import RedisMemberStore
from loyalty_core.redis_store.outbox import Outbox
from loyalty_core.redis_store.scripts import Scripts
from loyalty_core.tiers import TierService
from loyalty_core.till import TillService


@dataclass
class Services:
    clock: Clock
    redis: Redis
    batcher: Batcher
    scripts: Scripts
    outbox: Outbox
    pii: Pii
    members: MemberService
    channels: ChannelFacts
    program: Program
    points: PointsService
    tiers: TierService
    member_codes: MemberCodeService
    till: TillService
    wechat: object | None = None   # bot.wechat_api.WeChatApi when the API is reachable


class NoBirthdaysYet:
    """No member has a birthday window until the birthday feature stores them; that feature replaces
    this with a BirthdayWindows reading each member's window from Redis."""

    async def contains(self, member_id: str, day: date) -> bool:
        return False


def build_services(redis: Redis, clock: Clock, pii_key: bytes, sms: SmsSender, wechat=None, *,
                   program: Program | None = None, birthdays: BirthdayWindows | None = None) -> Services:
    batcher = Batcher(redis)
    scripts = Scripts(redis, batcher)
    outbox = Outbox(redis, scripts)
    pii = Pii(pii_key)
    members = MemberService(RedisMemberStore(redis, scripts, outbox), pii, sms, clock)
    program = program or load_program()
    ledger = RedisLedgerStore(redis, outbox, batcher)
    points = PointsService(ledger, program, clock, birthdays or NoBirthdaysYet())
    member_codes = MemberCodeService(ledger, program.member_code, clock)
    return Services(clock=clock, redis=redis, batcher=batcher, scripts=scripts, outbox=outbox, pii=pii, members=members,
                    channels=ChannelFacts(redis, scripts),
                    program=program, points=points, tiers=TierService(ledger, program, clock),
                    member_codes=member_codes,
                    till=TillService(points, members, member_codes, ledger, program, clock), wechat=wechat)
