"""Rollups of `job_runs`, so stats and metrics never aggregate the whole table per request.

Three tables, kept by statement-level triggers on job_runs (migration 0004): every INSERT,
UPDATE or DELETE adds what its rows contribute now and subtracts what they contributed
before, in the same transaction, so a rollup always equals the aggregate of the table. The
runtime's transitions pay no extra round trip; a progress write or heartbeat (no rollup
column changed) costs one empty check.

- `job_counts_rollup`: jobs per hour and per day of `queued_at`, scope and type, by current
  status (GET /jobs/stats counts; the exact `count` of job lists, from the daily rows).
- `job_finishes_rollup`: jobs per hour and per day of `finished_at` and scope (those that
  started): completed, failed, and histograms of run time (completed jobs) and pickup latency
  (GET /jobs/stats success rate and percentiles).

Scopes follow the visibility rule (app.projects.visibility): each job is counted under its
project ('project'), its project's owner ('owner') and the platform ('all'), so a read sums
the rows of one scope, never one row per visible project. A project's jobs are deleted just
before the project (a trigger on projects), while its owner is still known.
- `job_counters`: per job type since the rollups exist, never decremented (retention does
  not make them go down): started, finished by status, extra runs, and the Prometheus
  histograms of run time and pickup latency (`/metrics`).

A window of N hours is read as the hours up to the next midnight UTC plus whole days: at most
24 + N/24 rows per (scope, type), whatever the number of jobs.

Histograms (stats): bucket 1 holds durations under 1 ms, bucket k (2..N-1) holds
[2^((k-2)/4), 2^((k-1)/4)) ms, the last bucket everything from 2^((N-2)/4) ms (about 52 h)
on. A percentile is the value of its rank's bucket, interpolated geometrically inside it:
within one bucket of the exact order statistic, i.e. at most 19% off (a quarter of a doubling),
typically a few percent.
"""

import math
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

# Jobs without a project (maintenance) are rolled up under this project id (visible to
# superusers only); the platform-wide scope uses the same id.
NO_PROJECT = uuid.UUID(int=0)

HISTOGRAM_BUCKETS = 112
STEPS_PER_DOUBLING = 4

# Prometheus histograms of /metrics (upper bounds, seconds).
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
PICKUP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 120.0)


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """[low, high) in seconds of histogram bucket `bucket` (1-based); the last is open."""
    if bucket <= 1:
        return 0.0, 0.001
    low = 0.001 * 2 ** ((bucket - 2) / STEPS_PER_DOUBLING)
    if bucket >= HISTOGRAM_BUCKETS:
        return low, math.inf
    return low, 0.001 * 2 ** ((bucket - 1) / STEPS_PER_DOUBLING)


def histogram_percentile(counts: Sequence[int], quantile: float) -> float | None:
    """The `quantile` of the values counted in `counts` (bucket 1 first); None when empty."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = quantile * total
    seen = 0
    for index, count in enumerate(counts, start=1):
        if count <= 0:
            continue
        if seen + count >= rank:
            low, high = bucket_bounds(index)
            fraction = (rank - seen) / count
            if math.isinf(high):
                return low
            if low == 0.0:
                return high * fraction
            return float(low * (high / low) ** fraction)
        seen += count
    return bucket_bounds(len(counts))[0]


def window_buckets(since: datetime) -> tuple[datetime, datetime]:
    """The rollup buckets covering [hour of `since`, now): hourly buckets from the first
    until the next day starts, then daily buckets from the second."""
    hour = since.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    first_whole_day = day if day == hour else day + timedelta(days=1)
    return hour, first_whole_day
