"""The birthday gift's vouchers at the service desk: one script marks a voucher collected, once."""
from __future__ import annotations

from datetime import datetime

from .. import errors, keys
from ..clock import MALL_TZ
from ..desk import Collect, Collected
from .scripts import Scripts, refusal


class RedisGiftVouchers:
    def __init__(self, scripts: Scripts):
        self._scripts = scripts

    async def collect(self, code: str, collect: Collect) -> Collected:
        local = collect.at.astimezone(MALL_TZ)
        result = await self._scripts.run("voucher_collect", [keys.gift_voucher(code)],
                                         [collect.desk_id, collect.staff_id, collect.request_id, local.isoformat(),
                                          local.date().isoformat()])
        if not result["ok"]:
            raise _refused(result)
        voucher = result["voucher"]
        return Collected(code=code, gift=voucher["title"], source=voucher.get("source", "birthday"),
                         member_id=voucher["member_id"], collected_at=datetime.fromisoformat(voucher["collected_at"]),
                         desk_id=voucher["desk_id"], staff_id=voucher["staff_id"], replayed=bool(result["replayed"]))


def _refused(result: dict) -> Exception:
    if result["error"] == "already_used":
        return errors.VoucherCollected(collected_at=result.get("collected_at"))
    if result["error"] == "expired":
        return errors.VoucherExpired(valid_until=result.get("valid_until"))
    return refusal(result)
