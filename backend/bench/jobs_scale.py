"""Job reads as the table grows: the same reads through the real API (uvicorn, one process)
on 10,000 and on 1,000,000 finished jobs, side by side, with the ratio.

Shape of each dataset: one user owning 50 projects, one busy project holding half the jobs,
the rest spread evenly; jobs queued evenly over the last 45 days, 88% completed, 8% failed,
4% cancelled, six job types, pickup 5 ms-2 s and run time 0.1 s-30 min (log-uniform). The
rows are written by one INSERT ... SELECT generate_series (the rollup triggers append their
deltas in the same statement), the deltas folded into the rollups, then VACUUM ANALYZE.

Both datasets are served at once (one API process each) and each read is measured
`--requests` times, alternating between them request by request after a warm-up, so both
see the same load from the rest of the machine; the API process's CPU per request is printed
beside the wall times. Reads, as the user (not a superuser): a job's status, the busy
project's first page, its failed-only first page, all the user's jobs, stats over 24 hours
and over 30 days, /metrics. Target: p90 <= 50 ms for every read on 1M jobs.

Run from backend/:  uv run python -m bench.jobs_scale [--requests 50] [--jobs 1000000]
It creates, and drops at the end, its own databases `seo_bench_reads_scale_*` (prefix:
$BENCH_SCALE_DATABASE_PREFIX) on the local PostgreSQL, and runs a private redis-server
(queue depths and the worker ping of /jobs/stats).
"""

from bench import job_harness  # noqa: I001 - first: it fixes the environment before `app`

import os

BENCH_SECRET_KEY = "bench-secret-key-that-is-long-enough-for-hs256"
os.environ.update(
    {
        "SECRET_KEY": BENCH_SECRET_KEY,
        "ENVIRONMENT": "local",
        "FRONTEND_DIST": "/nonexistent",
        "LOG_LEVEL": "WARNING",
    }
)

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402

import httpx  # noqa: E402
import psutil  # type: ignore[import-untyped]  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SERVER_URL = make_url(job_harness.BENCH_DATABASE_URL)
PROJECTS = 50
TARGET_P90_MS = 50.0

_SEED = """
WITH owned AS (SELECT array_agg(id ORDER BY name) AS ids FROM projects),
series AS (
    SELECT i, random() AS outcome, random() AS pickup, random() AS run
    FROM generate_series(1, %(jobs)s) AS i
)
INSERT INTO job_runs (
    id, job_type, project_id, user_id, status, stage, queue, progress_pct, attempts,
    max_attempts, queued_at, started_at, finished_at, updated_at, config_json, result_json,
    error_category, error_message
)
SELECT gen_random_uuid(),
       (ARRAY['audit', 'gsc_sync', 'gsc_backfill', 'serp_refresh', 'links_ingest',
              'ads_sync'])[1 + i %% 6],
       CASE WHEN i %% 2 = 0 THEN owned.ids[1] ELSE owned.ids[2 + (i / 2) %% 49] END,
       %(user_id)s,
       status, 'done', 'default', 100, 1, 3,
       t.queued_at, t.started_at, t.finished_at, t.finished_at,
       '{"max_pages": 1000}'::jsonb,
       CASE WHEN status = 'completed' THEN '{"pages": 1000}'::jsonb END,
       CASE WHEN status = 'failed' THEN 'network' END,
       CASE WHEN status = 'failed' THEN 'connection reset by peer' END
FROM series CROSS JOIN owned
CROSS JOIN LATERAL (
    SELECT CASE WHEN outcome < 0.88 THEN 'completed'
                WHEN outcome < 0.96 THEN 'failed' ELSE 'cancelled' END AS status,
           now() - (i::float8 / %(jobs)s) * interval '45 days' AS queued_at
) AS s
CROSS JOIN LATERAL (
    SELECT s.queued_at,
           s.queued_at + make_interval(secs => 0.005 * power(400, pickup)) AS started_at,
           s.queued_at + make_interval(secs => 0.005 * power(400, pickup))
               + make_interval(secs => 0.1 * power(18000, run)) AS finished_at
) AS t
"""


@dataclass(frozen=True)
class Dataset:
    jobs: int
    url: str
    token: str
    busy_project: uuid.UUID
    job_ids: list[str]


def _admin() -> str:
    return SERVER_URL.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )


def _database(jobs: int) -> str:
    return f"{os.environ.get('BENCH_SCALE_DATABASE_PREFIX', 'seo_bench_reads_scale')}_{jobs}"


def _drop(name: str) -> None:
    with psycopg.connect(_admin(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def build(jobs: int) -> Dataset:
    from app.core.migrations import upgrade_to_head
    from app.core.security import create_access_token

    name = _database(jobs)
    _drop(name)
    with psycopg.connect(_admin(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = SERVER_URL.set(database=name).render_as_string(hide_password=False)
    upgrade_to_head(url)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        user_id = uuid.uuid4()
        conn.execute(
            "INSERT INTO users (id, email, hashed_password, is_active, is_superuser, full_name, "
            "created_at) VALUES (%s, 'owner@example.com', 'x', true, false, 'Owner', now())",
            (user_id,),
        )
        conn.execute(
            "INSERT INTO projects (id, name, site_url, owner_id, render_enabled, "
            "weekly_audit_enabled, include_subdomains, created_at, updated_at) "
            "SELECT gen_random_uuid(), 'site ' || lpad(i::text, 2, '0'), "
            "'https://site' || i || '.example/', %s, true, false, false, now(), now() "
            "FROM generate_series(0, %s - 1) AS i",
            (user_id, PROJECTS),
        )
        conn.execute(_SEED, {"jobs": jobs, "user_id": user_id})
        conn.execute("SELECT job_rollups_fold()")
        conn.execute("VACUUM ANALYZE")
        busy = conn.execute("SELECT id FROM projects ORDER BY name LIMIT 1").fetchone()
        assert busy is not None
        ids = conn.execute(
            "SELECT id FROM job_runs WHERE project_id = %s ORDER BY queued_at DESC LIMIT 50",
            (busy[0],),
        ).fetchall()
    seconds = time.monotonic() - started
    print(f"  {jobs:>9,} jobs written, rolled up and VACUUM ANALYZEd in {seconds:.1f} s")
    token = create_access_token(str(user_id), expires_delta=timedelta(hours=2))
    return Dataset(jobs, url, token, busy[0], [str(row[0]) for row in ids])


def start_server(database_url: str) -> tuple["subprocess.Popen[bytes]", str]:
    port = job_harness._free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=job_harness.BACKEND_DIR,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the API process did not start")


def reads(dataset: Dataset) -> dict[str, list[str]]:
    project = f"/api/v1/jobs/project/{dataset.busy_project}"
    return {
        "GET /jobs/{id}": [f"/api/v1/jobs/{job_id}" for job_id in dataset.job_ids],
        "project's first page": [project],
        "project, failed only": [f"{project}?status=failed"],
        "all my jobs": ["/api/v1/jobs"],
        "/jobs/stats 24 h": ["/api/v1/jobs/stats?window_hours=24"],
        "/jobs/stats 30 days": ["/api/v1/jobs/stats?window_hours=720"],
        "/metrics": ["/metrics"],
    }


@dataclass
class Timings:
    wall_ms: list[float]
    server_cpu_ms: float  # API process CPU per request (all threads), unaffected by waiting


def measure(
    servers: dict[int, tuple[int, str, Dataset]], requests: int
) -> dict[int, dict[str, Timings]]:
    """Each read on every dataset, request by request in turn, so that both see the same
    load from the rest of the machine."""
    clients = {
        jobs: httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {data.token}"}, timeout=60
        )
        for jobs, (_, base, data) in servers.items()
    }
    timings: dict[int, dict[str, Timings]] = {jobs: {} for jobs in servers}
    try:
        names = list(reads(next(iter(servers.values()))[2]))
        for name in names:
            paths = {jobs: reads(data)[name] for jobs, (_, _, data) in servers.items()}
            for i in range(5):  # warm-up: pools, prepared statements, caches
                for jobs, client in clients.items():
                    client.get(paths[jobs][i % len(paths[jobs])]).raise_for_status()
            samples: dict[int, list[float]] = {jobs: [] for jobs in servers}
            cpu = {jobs: 0.0 for jobs in servers}
            for i in range(requests):
                for jobs, client in clients.items():
                    process = psutil.Process(servers[jobs][0])
                    before = sum(process.cpu_times()[:2])
                    begin = time.perf_counter()
                    response = client.get(paths[jobs][i % len(paths[jobs])])
                    samples[jobs].append((time.perf_counter() - begin) * 1000)
                    cpu[jobs] += sum(process.cpu_times()[:2]) - before
                    response.raise_for_status()
            for jobs in servers:
                timings[jobs][name] = Timings(samples[jobs], cpu[jobs] / requests * 1000)
    finally:
        for client in clients.values():
            client.close()
    return timings


def p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=50, help="requests per read")
    parser.add_argument("--jobs", type=int, default=1_000_000, help="rows of the large run")
    parser.add_argument("--small", type=int, default=10_000, help="rows of the small run")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()

    sizes = (args.small, args.jobs)
    servers: dict[int, tuple[int, str, Dataset]] = {}
    processes: list[subprocess.Popen[bytes]] = []
    with job_harness.private_redis():
        try:
            datasets = {}
            for jobs in sizes:
                print(f"building {jobs:,} jobs ...")
                datasets[jobs] = build(jobs)
            for jobs, dataset in datasets.items():
                server, base = start_server(dataset.url)
                processes.append(server)
                servers[jobs] = (server.pid, base, dataset)
            results = measure(servers, args.requests)
        finally:
            for server in processes:
                server.terminate()
                server.wait(timeout=30)
            if not args.keep:
                for jobs in sizes:
                    _drop(_database(jobs))

    small, large = results[args.small], results[args.jobs]
    print(
        f"\n{args.requests} requests per read, milliseconds (wall: p50 / p90; API CPU per request)"
    )
    print(
        f"  {'read':22s} {'small p50':>9s} {'p90':>6s} {'cpu':>5s}   {'large p50':>9s} {'p90':>6s} "
        f"{'cpu':>5s}   {'p90 ratio':>9s}  target"
    )
    failures = 0
    for name in small:
        s50, s90 = statistics.median(small[name].wall_ms), p90(small[name].wall_ms)
        l50, l90 = statistics.median(large[name].wall_ms), p90(large[name].wall_ms)
        ok = l90 <= TARGET_P90_MS
        failures += not ok
        print(
            f"  {name:22s} {s50:9.1f} {s90:6.1f} {small[name].server_cpu_ms:5.1f}   "
            f"{l50:9.1f} {l90:6.1f} {large[name].server_cpu_ms:5.1f}   "
            f"{l90 / s90:8.2f}x  {'ok' if ok else 'MISSED'}"
        )
    print(f"  small = {args.small:,} jobs, large = {args.jobs:,} jobs; target p90 <= 50 ms")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if failures:
        raise SystemExit(f"{failures} read(s) missed the target")


if __name__ == "__main__":
    main()
