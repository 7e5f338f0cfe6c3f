"""/console/dashboard: the headline metrics against the programme's targets (`[targets]`), members by tier and
lifecycle stage, and each metric's trend over the kept daily snapshots — all from the metrics service that
GET /api/v1/admin/metrics answers with; a metric without a value shows as "—"."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aiohttp import web

from loyalty_core.console_access import Permission

from ..app_keys import SERVICES
from .charts import bar, trend
from .guard import needs
from .render import page
from .segment_terms import STAGE_NAMES

routes = web.RouteTableDef()
TREND_DAYS = 30


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    kind: str                       # "rate", "money" or "count"
    value: float | str | int | None
    target: Decimal | None
    history: list[float]

    @property
    def shown(self) -> str:
        if self.value is None:
            return "—"
        if self.kind == "rate":
            return f"{float(self.value) * 100:.1f}%"
        return f"¥{Decimal(str(self.value)):,.2f}" if self.kind == "money" else f"{int(self.value):,}"

    @property
    def target_shown(self) -> str:
        if self.target is None:
            return ""
        return f"{float(self.target) * 100:.0f}%" if self.kind == "rate" else f"¥{self.target:,.0f}"

    @property
    def met(self) -> bool:
        return self.value is not None and self.target is not None and Decimal(str(self.value)) >= self.target

    @property
    def chart(self):
        return trend(self.history, self.label)


TILES = (("members", "会员数 Members", "count"), ("active_rate", "活跃率 Active rate", "rate"),
         ("repurchase_rate", "复购率 Repurchase rate", "rate"), ("ltv", "会员价值 LTV (12 months)", "money"),
         ("registration_rate", "注册率 Registration rate", "rate"),
         ("push_conversion", "推送转化 Push conversion", "rate"), ("coupon_use_rate", "用券率 Coupon use", "rate"),
         ("member_day_uplift", "会员日提升 Member-day uplift", "rate"),
         ("member_day_sign_up_uplift", "会员日拉新 Member-day sign-ups", "rate"))


@routes.get("/dashboard", name="dashboard")
@needs(Permission.DASHBOARD)
async def dashboard(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    today = services.facts.today()
    headline = (await services.metrics.today(today)).to_dict()
    history = await services.metrics.history(today, TREND_DAYS)
    targets = services.program.targets.to_dict()
    tiles = [Tile(key, label, kind, headline.get(key), targets.get(key), series(history, key, headline))
             for key, label, kind in TILES]
    by = await services.metrics.members_by(today)
    tiers = [(tier.name, by["tiers"][tier.code], bar(by["tiers"][tier.code], headline["members"]),
              headline["repurchase_by_tier"].get(tier.code)) for tier in services.program.tiers]
    stages = [(STAGE_NAMES.get(stage, stage), n, bar(n, headline["members"])) for stage, n in by["stages"].items()]
    return page(request, "dashboard.html", tiles=tiles, tiers=tiers, stages=stages, day=headline["day"],
                kept_days=len(history))


def series(history: list[dict], key: str, today: dict) -> list[float]:
    """The metric's kept daily values, then today's (when the service gives that metric at all)."""
    if today.get(key) is None:
        return []
    kept = [float(day[key]) for day in history if day.get(key) is not None and day.get("day") != today["day"]]
    return kept + [float(today[key])]
