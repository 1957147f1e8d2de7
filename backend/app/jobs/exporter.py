"""Prometheus exposition of the job runtime at `/metrics`, computed at scrape time.

Jobs run in prefork children of workers on any number of hosts; counters kept in each
process's memory would show only the API process's share. Instead the numbers are derived
when Prometheus scrapes, from the places every process already writes: the `job_runs` rows
(started, finished, durations, pickup latency, extra attempts) and the broker (queue depth,
oldest message). That costs the job path nothing and agrees with the database by design.

Counter semantics: counters count jobs finished (or started) since a baseline, the moment
this process first exported. The retention clean-up deletes old rows, which would make a
plain count go down; so the baseline moves forward (an ordinary counter reset, which
Prometheus' rate() handles) long before any row counted since it can be deleted. Every API
replica exports the same platform-wide numbers: aggregate across instances with max(), not sum().
"""

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
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

from app.core.config import settings
from app.core.db import engine, utcnow
from app.core.logging import get_logger
from app.jobs.rescue import rescue_totals
from app.jobs.stats import queue_stats, workers_online

log = get_logger(__name__)

DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
PICKUP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 120.0)
TERMINAL_SQL = "('completed', 'failed', 'cancelled')"


def _histogram_sql(seconds: str, where: str, buckets: Sequence[float]) -> sa.TextClause:
    """Per job type: cumulative bucket counts, sum and count of `seconds` over the rows."""
    le = ", ".join(f"count(*) FILTER (WHERE s <= {bound!r})" for bound in buckets)
    return sa.text(
        f"SELECT job_type, {le}, count(*), coalesce(sum(s), 0) "  # noqa: S608 - constants
        f"FROM (SELECT job_type, extract(epoch FROM {seconds}) AS s FROM job_runs "
        f"WHERE {where}) AS observed GROUP BY job_type"
    )


_STARTED = sa.text("""
    SELECT job_type, count(*) FROM job_runs WHERE started_at >= :since GROUP BY job_type
""")
_FINISHED = sa.text(f"""
    SELECT job_type, status, count(*), coalesce(sum(greatest(attempts - 1, 0)), 0)
    FROM job_runs WHERE finished_at >= :since AND status IN {TERMINAL_SQL}
    GROUP BY job_type, status
""")  # noqa: S608 - constants
_ACTIVE = sa.text("""
    SELECT job_type, status, count(*) FROM job_runs
    WHERE status IN ('queued', 'running', 'retrying') GROUP BY job_type, status
""")
_DURATION = _histogram_sql(
    "finished_at - started_at",
    f"finished_at >= :since AND started_at IS NOT NULL AND status IN {TERMINAL_SQL}",
    DURATION_BUCKETS,
)
_PICKUP = _histogram_sql("started_at - queued_at", "started_at >= :since", PICKUP_BUCKETS)


class JobMetricsCollector(Collector):
    def __init__(self) -> None:
        self._baseline: datetime | None = None
        self._lock = threading.Lock()

    def baseline(self) -> datetime:
        """Counted rows must outlive the baseline: move it before half the retention."""
        retention = timedelta(
            days=min(settings.JOB_RETENTION_DAYS, settings.FAILED_JOB_RETENTION_DAYS)
        )
        now = utcnow()
        with self._lock:
            if self._baseline is None or now - self._baseline > retention / 2:
                self._baseline = now
            return self._baseline

    def describe(self) -> Iterable[Metric]:
        # Nothing to declare up front: registering must not run the scrape's queries.
        return []

    def collect(self) -> Iterable[Metric]:
        since = self.baseline()
        try:
            with engine.connect() as connection:
                rows = {
                    name: list(connection.execute(statement, {"since": since}).all())
                    for name, statement in (
                        ("started", _STARTED),
                        ("finished", _FINISHED),
                        ("active", _ACTIVE),
                        ("duration", _DURATION),
                        ("pickup", _PICKUP),
                    )
                }
        except sa.exc.SQLAlchemyError as exc:
            log.warning("job_metrics_unavailable", error=f"{type(exc).__name__}: {exc}")
            yield GaugeMetricFamily("seo_jobs_metrics_up", "Job metrics could be read", value=0)
            return
        yield GaugeMetricFamily("seo_jobs_metrics_up", "Job metrics could be read", value=1)
        yield from self._job_families(rows)
        yield from self._broker_families()

    def _job_families(self, rows: dict[str, list[Any]]) -> Iterable[Metric]:
        started = CounterMetricFamily(
            "seo_jobs_started", "Jobs claimed by a worker for the first time", labels=["job_type"]
        )
        for job_type, count in rows["started"]:
            started.add_metric([job_type], count)
        finished = CounterMetricFamily(
            "seo_jobs_finished", "Jobs that reached a final state", labels=["job_type", "status"]
        )
        retries = CounterMetricFamily(
            "seo_job_retries",
            "Runs beyond the first of finished jobs (automatic retries and rescued runs)",
            labels=["job_type"],
        )
        extra_runs: dict[str, int] = {}
        for job_type, status, count, extra in rows["finished"]:
            finished.add_metric([job_type, status], count)
            extra_runs[job_type] = extra_runs.get(job_type, 0) + int(extra)
        for job_type, extra in extra_runs.items():
            retries.add_metric([job_type], extra)
        active = GaugeMetricFamily(
            "seo_jobs_active", "Jobs queued, running or retrying now", labels=["job_type", "status"]
        )
        for job_type, status, count in rows["active"]:
            active.add_metric([job_type, status], count)
        yield from (started, finished, retries, active)
        yield _histogram(
            "seo_job_duration_seconds",
            "Run time of finished jobs (started to finished)",
            rows["duration"],
            DURATION_BUCKETS,
        )
        yield _histogram(
            "seo_job_pickup_latency_seconds",
            "Time from queued to first claimed by a worker",
            rows["pickup"],
            PICKUP_BUCKETS,
        )

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
        workers = GaugeMetricFamily("seo_workers_online", "Workers answering a ping (cached)")
        workers.add_metric([], workers_online().online)
        yield from (depth, age, sweeps, workers)


def _histogram(
    name: str, documentation: str, rows: list[Any], buckets: Sequence[float]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["job_type"])
    for row in rows:
        job_type, cumulative, count, total = row[0], row[1:-2], row[-2], row[-1]
        points = [(repr(bound), n) for bound, n in zip(buckets, cumulative, strict=True)]
        family.add_metric([job_type], [*points, ("+Inf", count)], sum_value=float(total))
    return family


_collector: JobMetricsCollector | None = None


def install_job_metrics() -> None:
    """Registers the collector in the default registry, once per process."""
    global _collector
    if _collector is None:
        _collector = JobMetricsCollector()
        REGISTRY.register(_collector)
