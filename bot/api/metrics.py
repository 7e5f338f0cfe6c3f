"""GET /api/v1/admin/metrics[?days=N]: the headline metrics now and their daily history of the last N days (1 to
400, 30 by default; the `metrics` job keeps one snapshot a day): {"today": {"day", "members", "active_rate", "repurchase_rate", "repurchase_by_tier",
"ltv", "registration_rate", "push_conversion", "coupon_use_rate", "member_day_spend_per_active",
"other_day_spend_per_active", "member_day_uplift", "member_day_sign_ups", "other_day_sign_ups",
"member_day_sign_up_uplift"}, "history": [the same, a day each, oldest first]}. Rates are 0 to 1 (the uplifts may be
below 0 or above 1); LTV and spend per active member are CNY, sign-ups members a day (on average). The figures also update the Prometheus gauges `member_programme_headline`."""
from __future__ import annotations

from aiohttp import web

from loyalty_core import errors
from loyalty_core.metrics import HISTORY_DAYS

from ..app_keys import SERVICES
from ..metrics import set_headline_gauges
from .auth import PROGRAM, reached_by
from .errors import json_answer

routes = web.RouteTableDef()
DEFAULT_DAYS = 30


@routes.get("/admin/metrics")
@reached_by(PROGRAM)
async def headline_metrics(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    days = days_of(request.query.get("days"))
    today = services.facts.today()
    headline = await services.metrics.today(today)
    set_headline_gauges(headline)
    return json_answer({"today": headline.to_dict(), "history": await services.metrics.history(today, days)})


def days_of(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_DAYS
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= HISTORY_DAYS:
        raise errors.InvalidRequest(f"days must be a whole number from 1 to {HISTORY_DAYS}")
    return int(raw)
