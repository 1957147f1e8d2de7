"""Prometheus exposition of the job runtime at `/metrics`, computed at scrape time.

Jobs run in prefork children of workers on any number of hosts; counters kept in each
process's memory would show only the API process's share. Instead the numbers are read when
Prometheus scrapes, from what every process already writes: the `job_counters` rollup, fed
by triggers on `job_runs` as jobs start and finish and brought up to date before each scrape
(app.jobs.rollups.fold: one small row per job type, whatever the number of jobs), the active
jobs (a partial index), and the broker (queue depth, oldest message).

Counters only ever go up: the retention clean-up deletes rows, never counts. Every API
replica exports the same platform-wide numbers: aggregate across instances with max(), not sum().
"""

from collections.abc import Iterable, Sequence
from typing import Any

import redis
import sqlalchemy as sa
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import REGISTRY, Collector

from app.core.db import engine
from app.core.logging import get_logger
from app.jobs.priorities import pickup_histograms
from app.jobs.rescue import rescue_totals
from app.jobs.rollups import DURATION_BUCKETS, PICKUP_BUCKETS, fold
from app.jobs.stats import broker_client, queue_stats, workers_online

log = get_logger(__name__)


_COUNTERS = sa.text("""
    SELECT job_type, started, completed, failed, cancelled, extra_runs,
           run_count, run_seconds_sum, run_seconds_le,
           pickup_count, pickup_seconds_sum, pickup_seconds_le
    FROM job_counters ORDER BY job_type
""")
_ACTIVE = sa.text("""
    SELECT job_type, status, count(*) FROM job_runs
    WHERE status IN ('queued', 'running', 'retrying') GROUP BY job_type, status
""")


class JobMetricsCollector(Collector):
    def describe(self) -> Iterable[Metric]:
        # Nothing to declare up front: registering must not run the scrape's queries.
        return []

    def collect(self) -> Iterable[Metric]:
        try:
            fold(engine)
            with engine.connect() as connection:
                counters = list(connection.execute(_COUNTERS).all())
                active = list(connection.execute(_ACTIVE).all())
        except sa.exc.SQLAlchemyError as exc:
            log.warning("job_metrics_unavailable", error=f"{type(exc).__name__}: {exc}")
            yield GaugeMetricFamily("seo_jobs_metrics_up", "Job metrics could be read", value=0)
            return
        yield GaugeMetricFamily("seo_jobs_metrics_up", "Job metrics could be read", value=1)
        yield from self._job_families(counters, active)
        yield from self._broker_families()

    def _job_families(self, counters: list[Any], active_rows: list[Any]) -> Iterable[Metric]:
        started = CounterMetricFamily(
            "seo_jobs_started", "Jobs claimed by a worker for the first time", labels=["job_type"]
        )
        finished = CounterMetricFamily(
            "seo_jobs_finished", "Jobs that reached a final state", labels=["job_type", "status"]
        )
        retries = CounterMetricFamily(
            "seo_job_retries",
            "Runs beyond the first of finished jobs (automatic retries and rescued runs)",
            labels=["job_type"],
        )
        duration = HistogramMetricFamily(
            "seo_job_duration_seconds",
            "Run time of finished jobs (started to finished)",
            labels=["job_type"],
        )
        pickup = HistogramMetricFamily(
            "seo_job_pickup_latency_seconds",
            "Time from queued to first claimed by a worker",
            labels=["job_type"],
        )
        for row in counters:
            job_type = row.job_type
            started.add_metric([job_type], row.started)
            for status in ("completed", "failed", "cancelled"):
                finished.add_metric([job_type, status], getattr(row, status))
            retries.add_metric([job_type], row.extra_runs)
            duration.add_metric(
                [job_type],
                _buckets(DURATION_BUCKETS, row.run_seconds_le, row.run_count),
                sum_value=float(row.run_seconds_sum),
            )
            pickup.add_metric(
                [job_type],
                _buckets(PICKUP_BUCKETS, row.pickup_seconds_le, row.pickup_count),
                sum_value=float(row.pickup_seconds_sum),
            )
        active = GaugeMetricFamily(
            "seo_jobs_active", "Jobs queued, running or retrying now", labels=["job_type", "status"]
        )
        for job_type, status, count in active_rows:
            active.add_metric([job_type, status], count)
        yield from (started, finished, retries, active, duration, pickup)

    def _broker_families(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily(
            "seo_queue_depth", "Messages waiting in a broker queue", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "seo_queue_oldest_message_age_seconds",
            "Age of the oldest waiting message of a queue",
            labels=["queue"],
        )
        for queue in queue_stats():
            if queue.depth is not None:
                depth.add_metric([queue.name], queue.depth)
            if queue.oldest_message_age_seconds is not None:
                age.add_metric([queue.name], queue.oldest_message_age_seconds)
        sweeps = CounterMetricFamily(
            "seo_job_sweep_actions",
            "Jobs the rescue sweep acted on: rescued (worker lost, run again), republished "
            "(message lost), failed_worker_lost, failed_queue_stalled (no consumer), cancelled, "
            "publish_failures",
            labels=["outcome"],
        )
        # Rescues leave no lasting trace on the rows (a rescued job that then completes looks
        # like any other): the sweep counts them itself, in Redis (app/jobs/rescue.py).
        try:
            recorded = rescue_totals()
        except redis.RedisError:
            recorded = {}
        for outcome, count in sorted(recorded.items()):
            sweeps.add_metric([outcome], count)
        by_priority = HistogramMetricFamily(
            "seo_job_pickup_latency_by_priority_seconds",
            "Time from queued to first claimed by a worker, by the job's priority (counted by "
            "the workers in Redis, since Redis was last emptied)",
            labels=["priority"],
        )
        try:
            histograms = pickup_histograms(broker_client())
        except redis.RedisError:
            histograms = {}
        for priority, histogram in histograms.items():
            by_priority.add_metric(
                [priority.value],
                _buckets(PICKUP_BUCKETS, histogram.buckets, histogram.count),
                sum_value=histogram.total,
            )
        workers = GaugeMetricFamily("seo_workers_online", "Workers answering a ping (cached)")
        workers.add_metric([], workers_online().online)
        yield from (depth, age, sweeps, by_priority, workers)


def _buckets(
    bounds: Sequence[float], cumulative: Sequence[int], count: int
) -> list[tuple[str, float]]:
    points = [(repr(bound), float(n)) for bound, n in zip(bounds, cumulative, strict=True)]
    return [*points, ("+Inf", float(count))]


_collector: JobMetricsCollector | None = None


def install_job_metrics() -> None:
    """Registers the collector in the default registry, once per process."""
    global _collector
    if _collector is None:
        _collector = JobMetricsCollector()
        REGISTRY.register(_collector)
