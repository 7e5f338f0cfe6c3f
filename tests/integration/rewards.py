"""Helpers for the rewards tests: members with points, set up through the real services, and the
ledger totals that must not change (Σ balances + Σ spent)."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp.test_utils import TestClient

from bot.app_keys import SERVICES
from bot.services import Services
from loyalty_core import keys
from tests.wechat_peer import WeChatPeer


@dataclass
class Chat:
    peer: WeChatPeer
    client: TestClient

    @property
    def services(self) -> Services:
        return self.client.server.app[SERVICES]

    async def member(self, openid: str, points: int = 0) -> str:
        """A member who followed the account and holds `points` (granted, as a reward would be)."""
        member_id = (await self.services.members.follow(openid, f"join:{openid}")).member_id
        if points:
            await self.services.points.grant(member_id, points, "test", f"seed:{openid}")
        return member_id

    async def say(self, openid: str, text: str) -> str:
        return await self.peer.say(openid, text)

    async def balance(self, member_id: str) -> int:
        return (await self.services.points.summary(member_id, self.services.clock.now())).balance


async def ledger_totals(redis, member_ids) -> tuple[int, int]:
    """(Σ balances, Σ spent) over the members, read straight from their ledger accounts."""
    balances = spent = 0
    for member_id in member_ids:
        balance, spent_total = await redis.hmget(keys.points_account(member_id), "balance", "spent_total")
        assert int(balance or 0) >= 0
        balances, spent = balances + int(balance or 0), spent + int(spent_total or 0)
    return balances, spent
