"""Prometheus metrics of the web process (served at /metrics)."""
from prometheus_client import Counter, Histogram

CALLBACKS = Counter("wechat_callbacks_total", "WeChat callbacks by outcome", ["outcome"])
HANDLER_SECONDS = Histogram("wechat_handler_seconds", "Time from callback arrival to reply",
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4.5, 10))
