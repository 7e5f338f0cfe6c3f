"""The member's referral QR image: a temporary QR_STR_SCENE code (scene `ref:<member_id>`) and its
uploaded image, both cached in the member's slot and made again before they run out.

- The code lives `qr_days` (30 at most); a new one is made when less than a day is left, so a shared
  code keeps working for at least a day after it was last shown.
- The image is drawn from the code's `url` (what WeChat's own showqrcode image encodes) and uploaded as
  temporary media, which WeChat keeps 3 days: the media_id is reused until an hour before that.
- Without WeChat (no API, or a call that fails) there is no code to show: `for_member` gives None and
  the referral text answers alone.
Times are judged on the injected clock.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from loyalty_core import keys
from loyalty_core.clock import Clock, epoch_ms, from_epoch_ms
from loyalty_core.referral import referral_scene

from .images import qr_png, upload_image

log = logging.getLogger("bot.referral_qr")

RENEW_CODE_BEFORE = timedelta(days=1)
MEDIA_LIFETIME = timedelta(days=3)
RENEW_MEDIA_BEFORE = timedelta(hours=1)


@dataclass(frozen=True)
class ReferralQr:
    ticket: str
    url: str
    expires_at: datetime
    media_id: str


class ReferralQrCodes:
    def __init__(self, redis: Redis, wechat, clock: Clock, qr_days: int):
        self._redis = redis
        self._wechat = wechat
        self._clock = clock
        self._lifetime = timedelta(days=qr_days)

    async def for_member(self, member_id: str) -> ReferralQr | None:
        """The member's current code and image, made or refreshed as needed; None when WeChat cannot
        give them."""
        if self._wechat is None:
            return None
        key, now = keys.member_referral_qr(member_id), self._clock.now()
        cached = await self._redis.hgetall(key)
        if not _fresh(cached, "expires_ms", now, RENEW_CODE_BEFORE):
            cached = await self._new_code(key, member_id, now)
            if cached is None:
                return None
        if not _fresh(cached, "media_expires_ms", now, RENEW_MEDIA_BEFORE):
            media_id = await upload_image(self._wechat, "referral-qr.png", qr_png(cached["url"]))
            if media_id is None:
                return None
            cached |= {"media_id": media_id, "media_expires_ms": str(epoch_ms(now + MEDIA_LIFETIME))}
            await self._redis.hset(key, mapping={"media_id": media_id,
                                                 "media_expires_ms": cached["media_expires_ms"]})
        return ReferralQr(cached["ticket"], cached["url"], from_epoch_ms(cached["expires_ms"]), cached["media_id"])

    async def _new_code(self, key: str, member_id: str, now: datetime) -> dict | None:
        try:
            code = await self._wechat.create_temporary_qrcode(referral_scene(member_id),
                                                              int(self._lifetime.total_seconds()))
        except Exception as exc:  # noqa: BLE001 - the referral text must not fail because of the code
            log.warning("referral QR code not made: %s", type(exc).__name__)
            return None
        fresh = {"ticket": code.ticket, "url": code.url, "expires_ms": str(epoch_ms(now + self._lifetime))}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)          # the old image shows the old code
            pipe.hset(key, mapping=fresh)
            pipe.expire(key, int((self._lifetime + MEDIA_LIFETIME).total_seconds()))   # tidying only
            await pipe.execute()
        return fresh


def _fresh(cached: dict, field: str, now: datetime, margin: timedelta) -> bool:
    value = cached.get(field)
    return bool(value) and int(value) - epoch_ms(now) > margin.total_seconds() * 1000
