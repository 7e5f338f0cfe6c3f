"""SMS senders for phone verification codes. The real provider plugs in behind the same method."""
from __future__ import annotations

import logging

import aiohttp

log = logging.getLogger("bot.sms")

CODE_TEXT = "【会员中心】您的验证码是 {code}，{minutes} 分钟内有效。如非本人操作请忽略。"


class LogSmsSender:
    """Development only: writes the code to the log; the number, personal data, is left out."""

    async def send_code(self, phone: str, code: str, *, valid_minutes: int) -> None:
        log.warning("DEV SMS: verification code %s (valid %d min)", code, valid_minutes)


class SandboxSmsSender:
    """Delivers codes to the WeChat sandbox's SMS inbox, where the demo's chat page shows them."""

    def __init__(self, session: aiohttp.ClientSession, sandbox_url: str):
        self._session = session
        self._url = sandbox_url.rstrip("/") + "/sandbox/sms"

    async def send_code(self, phone: str, code: str, *, valid_minutes: int) -> None:
        text = CODE_TEXT.format(code=code, minutes=valid_minutes)
        async with self._session.post(self._url, json={"phone": phone, "text": text}) as response:
            response.raise_for_status()
