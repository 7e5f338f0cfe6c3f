"""Images that go with a reply: QR codes drawn with segno, uploaded to WeChat as temporary media (kept
3 days). An image is an extra: when it cannot be uploaded the text still answers, so `upload_image`
gives None instead of raising."""
from __future__ import annotations

import io
import logging

import segno

log = logging.getLogger("bot.images")


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


async def upload_image(wechat, name: str, png: bytes) -> str | None:
    """The uploaded image's media id; None without a WeChat API or when the upload fails (logged with
    the file name and the kind of error only)."""
    if wechat is None:
        return None
    try:
        return await wechat.upload_media("image", name, png)
    except Exception as exc:  # noqa: BLE001 - the text reply must not fail because of the image
        log.warning("image %s not uploaded: %s", name, type(exc).__name__)
        return None
