"""Rollups of `job_runs`, so stats and metrics never aggregate the whole table per request.

Three tables, fed by statement-level triggers on job_runs (migration 0004): every INSERT,
UPDATE or DELETE appends to `job_rollup_deltas` one row per job it changed (what the job
contributes now, sign 1, and what it contributed before, sign -1), in the same transaction,
and nothing else: writers never update a shared rollup row, so concurrent workers do not
wait on each other, and a transition costs one small insert. `fold()` (the SQL function
job_rollups_fold(), one statement: DELETE ... RETURNING the deltas into the upserts of the
rollups, under a transaction-level advisory lock so that folds never contend on rollup rows)
brings the rollups up to date: every read of the rollups folds first, and the rescue sweep
folds periodically so that the deltas stay few however rarely anything is read. After a
fold, a rollup equals the aggregate of the table as of the fold. The runtime's transitions
pay no extra round trip; a progress write or heartbeat (no rollup column changed) appends
nothing.

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

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

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


_FOLD = sa.text("SELECT job_rollups_fold(:wait)")


def fold(bind: Engine | Connection | None = None, *, wait: bool = True) -> int | None:
    """Folds the pending deltas into the rollups, in a transaction of its own (committed
    before the caller reads the rollups). `wait`: wait for a fold under way, then fold what
    it left; otherwise return None at once when another fold holds the lock. Returns the
    number of deltas folded."""
    if bind is None:
        from app.core.db import engine

        bind = engine
    if isinstance(bind, Connection):
        bind = bind.engine  # its own connection and transaction, not the caller's
    with bind.begin() as connection:
        folded = connection.execute(_FOLD, {"wait": wait}).scalar_one()
    return None if folded is None else int(folded)
