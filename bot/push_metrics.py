"""The push side's counters for serve's /metrics, read from Redis where every sender and serve process
adds to them (loyalty_core/redis_store/push_queue.py): one scrape of any serve process sees them all."""
from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from loyalty_core.redis_store.push_queue import RedisPushQueue


class _Snapshot:
    """A collector of metric families read a moment ago (the Redis client is async; collectors are not)."""

    def __init__(self, families: list):
        self._families = families

    def collect(self):
        return self._families


async def push_metrics(queue: RedisPushQueue) -> bytes:
    steps = CounterMetricFamily("push_steps", "Steps of pushes' lives by kind, topic family, channel and outcome",
                                labels=["kind", "topic", "channel", "outcome"])
    for labels, count in sorted((await queue.counts()).items()):
        steps.add_metric(list(labels), count)
    in_doubt = GaugeMetricFamily("push_in_doubt", "Pushes whose sender died mid-call: outcome unknown")
    in_doubt.add_metric([], await queue.in_doubt_count())
    backlog = GaugeMetricFamily("push_outbox_entries", "Entries in the push outbox streams, read or not")
    backlog.add_metric([], await queue.backlog())
    return generate_latest(_Snapshot([steps, in_doubt, backlog]))
