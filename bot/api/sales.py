"""GET /api/v1/admin/sales?date=YYYY-MM-DD: the day's sales per store, members' and walk-ins' (count and
amount), the walk-ins who joined by their receipt, and the members' share of the amount (loyalty_core/walk_in.py);
for the member service and the console's dashboards."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from aiohttp import web

from loyalty_core import errors
from loyalty_core.walk_in import StoreSales

from ..app_keys import SERVICES
from . import fields
from .auth import MEMBER_SERVICE, reached_by
from .errors import json_answer

routes = web.RouteTableDef()
ZERO = Decimal("0.00")


@routes.get("/admin/sales")
@reached_by(MEMBER_SERVICE)
async def sales_of_the_day(request: web.Request) -> web.Response:
    text = fields.text(dict(request.query), "date")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise errors.InvalidRequest("date must be a day, e.g. 2026-01-15") from None
    if len(text) != 10:
        raise errors.InvalidRequest("date must be a day, e.g. 2026-01-15")
    rows = await request.config_dict[SERVICES].walk_ins.day(day.strftime("%Y%m%d"))
    total = StoreSales("", sum(r.member_count for r in rows), sum((r.member_amount for r in rows), start=ZERO),
                       sum(r.walk_in_count for r in rows), sum((r.walk_in_amount for r in rows), start=ZERO),
                       sum(r.joined_count for r in rows))
    return json_answer({"date": day.isoformat(), "stores": [_row(row) for row in rows], "total": _row(total)})


def _row(row: StoreSales) -> dict:
    share = row.member_share
    return {"store_id": row.store_id, "member_count": row.member_count, "member_amount": str(row.member_amount),
            "walk_in_count": row.walk_in_count, "walk_in_amount": str(row.walk_in_amount),
            "joined_count": row.joined_count, "member_share": None if share is None else str(share)}
