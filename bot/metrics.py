"""Prometheus metrics of the web process (served at /metrics)."""
from prometheus_client import Counter, Gauge, Histogram

CALLBACKS = Counter("wechat_callbacks_total", "WeChat callbacks by outcome", ["outcome"])
HANDLER_SECONDS = Histogram("wechat_handler_seconds", "Time from callback arrival to reply",
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4.5, 10))

HEADLINE = Gauge("member_programme_headline", "The programme's headline metrics (rates 0-1, LTV in CNY)",
                 ["metric", "tier"])


def set_headline_gauges(headline) -> None:
    """The latest headline figures as gauges (the metrics job and GET /api/v1/admin/metrics set them)."""
    for metric in ("active_rate", "repurchase_rate", "registration_rate", "push_conversion", "coupon_use_rate",
                   "member_day_uplift", "member_day_sign_ups", "other_day_sign_ups", "member_day_sign_up_uplift"):
        HEADLINE.labels(metric, "").set(getattr(headline, metric))
    for metric in ("member_day_spend_per_active", "other_day_spend_per_active"):
        HEADLINE.labels(metric, "").set(float(getattr(headline, metric)))
    HEADLINE.labels("ltv", "").set(float(headline.ltv))
    HEADLINE.labels("members", "").set(headline.members)
    for tier, value in headline.repurchase_by_tier.items():
        HEADLINE.labels("repurchase_rate", tier).set(value)
