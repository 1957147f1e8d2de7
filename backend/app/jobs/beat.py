"""What Beat's entry points share: the tasks that only start jobs on a schedule (the weekly
audits, the daily clean-up, the health check).

Beat fires each of them once; a database outage at that moment must not skip the day or the
week. So they retry on a database connection error, with exponential backoff and full jitter
(about 1 s, 2 s, 4 s, ... up to 10 min apart), a bounded number of times: 12 retries ride out
roughly half an hour of outage. A retry is harmless: the jobs they start carry day- or
week-scoped dedupe keys, so whatever the failed attempt already started is not started twice.
"""

from typing import Any

import psycopg
import sqlalchemy.exc

DATABASE_UNREACHABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError,
)

SCHEDULED_START_RETRY: dict[str, Any] = {
    "autoretry_for": DATABASE_UNREACHABLE,
    "max_retries": 12,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
}
