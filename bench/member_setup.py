"""Puts a benchmark member into a realistic state through the real services."""
from __future__ import annotations

import base64

from redis.asyncio import Redis

from bot.services import build_services
from loyalty_core.clock import SystemClock

PHONE = "13800138000"


class CapturedSms:
    """Keeps the last code instead of texting it (the benchmark types it back itself)."""

    def __init__(self):
        self.last_code = ""

    async def send_code(self, phone: str, code: str, *, valid_minutes: int) -> None:
        self.last_code = code


async def bind_phone_and_earn(redis: Redis, openid: str, pii_key_b64: str) -> str:
    sms = CapturedSms()
    services = build_services(redis, SystemClock(), base64.b64decode(pii_key_b64), sms)
    member_id = await services.members.member_id_for_openid(openid)
    await services.members.request_phone_code(member_id, PHONE)
    await services.members.verify_phone(member_id, sms.last_code)
    return member_id
