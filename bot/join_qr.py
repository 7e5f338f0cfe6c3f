"""The join code printed on a walk-in's receipt: a temporary QR_STR_SCENE code of scene `join:<token>`
(loyalty_core/walk_in.py), living until the sale's join window closes, kept with the sale so that the same
receipt printed again shows the same code. Scanned, it arrives as subscribe (a new follower) or SCAN with that
scene (bot/handlers/walk_in.py)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from loyalty_core import errors
from loyalty_core.clock import Clock, epoch_ms, from_epoch_ms
from loyalty_core.redis_store.walk_in import RedisWalkInStore
from loyalty_core.walk_in import WalkIns, join_scene, join_token

log = logging.getLogger("bot.join_qr")


@dataclass(frozen=True)
class JoinQr:
    txn_id: str
    scene: str
    ticket: str
    url: str                # what the QR encodes
    image_url: str          # WeChat's image of it
    expires_at: datetime


class JoinQrCodes:
    def __init__(self, walk_ins: WalkIns, store: RedisWalkInStore, wechat, clock: Clock):
        self._walk_ins = walk_ins
        self._store = store
        self._wechat = wechat
        self._clock = clock

    async def for_sale(self, txn_id: str, owner: tuple[str, str] | None) -> JoinQr:
        """`owner`: who the txn index names (None: no such txn). Raises UnknownTransaction, NotAWalkIn,
        AlreadyJoined, JoinExpired, JoinCodeUnavailable."""
        if owner is None:
            raise errors.UnknownTransaction()
        sale = await self._walk_ins.sale(txn_id)
        if sale is None:
            raise errors.NotAWalkIn()
        if sale.member_id:
            raise errors.AlreadyJoined()
        now = self._clock.now()
        if now >= sale.join_until:
            raise errors.JoinExpired()
        token, scene = join_token(txn_id), join_scene(txn_id)
        kept = await self._store.sale(token) or {}
        if kept.get("qr_ticket") and int(kept["qr_expires_ms"]) > epoch_ms(now):
            return self._qr(txn_id, scene, kept["qr_ticket"], kept["qr_url"], int(kept["qr_expires_ms"]))
        seconds = max(int((sale.join_until - now).total_seconds()), 1)
        code = await self._new_code(scene, seconds)
        expires_ms = epoch_ms(now.replace(microsecond=0)) + seconds * 1000
        await self._store.save_qr(token, code.ticket, code.url, expires_ms)
        return self._qr(txn_id, scene, code.ticket, code.url, expires_ms)

    async def _new_code(self, scene: str, seconds: int):
        if self._wechat is None:
            raise errors.JoinCodeUnavailable()
        try:
            return await self._wechat.create_temporary_qrcode(scene, seconds)
        except Exception as exc:  # noqa: BLE001 - the till is told to try again, nothing was kept
            log.warning("join QR code not made: %s", type(exc).__name__)
            raise errors.JoinCodeUnavailable() from None

    def _qr(self, txn_id: str, scene: str, ticket: str, url: str, expires_ms: int) -> JoinQr:
        image = self._wechat.qrcode_image_url(ticket) if self._wechat is not None else ""
        return JoinQr(txn_id, scene, ticket, url, image, from_epoch_ms(expires_ms))
