"""Reply images: a QR code drawn from its text and uploaded as temporary media; without WeChat, or when
WeChat refuses the upload, there is no image and the log names only the file and the kind of error."""
from __future__ import annotations

import aiohttp
import segno

from bot.images import qr_png, upload_image
from tests.integration.test_sandbox_platform import decode_png


async def test_a_qr_image_shows_the_code_of_its_text_and_wechat_keeps_the_same_png(sandbox, wechat_api):
    text = "881234567890123456"
    png = qr_png(text)
    _, _, rows = decode_png(png)
    scale, border, matrix = 8, 2, segno.make(text, error="m").matrix
    modules = [[rows[(y + border) * scale][(x + border) * scale] for x in range(len(row))]
               for y, row in enumerate(matrix)]
    assert modules == [list(row) for row in matrix]
    media_id = await upload_image(wechat_api, "member-code.png", png)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sandbox.url}/sandbox/media/{media_id}") as response:
            assert await response.read() == png


async def test_without_wechat_or_when_the_upload_is_refused_there_is_no_image(sandbox, wechat_api, caplog):
    assert await upload_image(None, "coupon.png", qr_png("K7QH3WXN9PZDR")) is None
    await sandbox.client.fault("media/upload", errcode=40005, errcode_next=1)
    assert await upload_image(wechat_api, "coupon.png", qr_png("K7QH3WXN9PZDR")) is None
    assert "image coupon.png not uploaded: PermanentError" in caplog.text and "K7QH" not in caplog.text
    assert await upload_image(wechat_api, "coupon.png", qr_png("K7QH3WXN9PZDR"))       # the next one goes up
