"""Search Console ingest: a million rows from the local Search Console into the store.

    cd backend && uv run python -m bench.gsc_ingest [--rows 1000000] [--repeat 3]

The fake Search Console (tests/fakes/gsc.py) runs in its own process with one day of
`--rows` rows encoded ahead (40 pages of 25,000 for a million), so the figures are the
client's. Each measured run is a fresh process running the production backfill of that day
(service.run_backfill: token, shared rate limit, fetch, JSON parse, COPY into a temporary
table, dictionary upserts, INSERT ... ON CONFLICT, totals), reporting rows/s and its peak RSS:

- ingest: into empty tables (all inserts);
- re-run: the same day again (all conflicts; 0 new rows expected): every page arrives as the
  day was last written, so each is skipped on its digest (storage.py, step 0);
- re-run, pages forgotten: the same, the day's page digests cleared first, so every row goes
  through the stage and is compared with the stored one (the path of a page that changed);
- baselines, same fetch and parse, rows stored by (a) the ORM, a `GscRow` per row added to
  the session and committed per page, and (b) a plain psycopg `executemany` of
  `INSERT ... ON CONFLICT DO UPDATE` per page, both into an empty property, on the first
  `--baseline-rows` rows (rows/s extrapolate). Both are handed the query/page ids already
  resolved (a dict), which favours them.

Medians of `--repeat` runs, and the ratios, in wall time and per CPU second (this process's
threads plus its server backends, read from /proc: a steadier measure on a shared machine).
Its own database (seo_platform_bench_gsc, or GSC_BENCH_DATABASE) and Redis database (6, or
GSC_BENCH_REDIS_DB), both recreated.
"""

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DATABASE = os.environ.get("GSC_BENCH_DATABASE", "seo_platform_bench_gsc")
BENCH_DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
BENCH_REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('GSC_BENCH_REDIS_DB', '6')}"
BACKEND_DIR = Path(__file__).resolve().parents[1]
PROPERTY = "sc-domain:bench.example.com"
ACCOUNT = "bench@seo-project.iam.gserviceaccount.com"
DAY = dt.date(2026, 1, 15)

ENV = {
    "DATABASE_URL": BENCH_DATABASE_URL,
    "REDIS_URL": BENCH_REDIS_URL,
    "CELERY_BROKER_URL": BENCH_REDIS_URL,
    "CELERY_RESULT_BACKEND": BENCH_REDIS_URL,
    "GOOGLE_TOKEN_HOSTS": "oauth2.googleapis.com,127.0.0.1",
    "GSC_QUERIES_PER_MINUTE": "1000000",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)


# --- the fake server's process ---------------------------------------------------------------


def serve(rows: int) -> None:
    from tests.fakes.google import FakeGoogle
    from tests.fakes.gsc import install_gsc

    fake = FakeGoogle().start()
    state = install_gsc(fake)
    state.set_rows(PROPERTY, DAY, rows)
    state.grant(ACCOUNT, PROPERTY)
    credential = fake.service_account(ACCOUNT)
    size = state.prerender(PROPERTY, DAY)
    print(json.dumps({"url": fake.url, "credential": credential, "bytes": size}), flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    fake.stop()


# --- measured runs (each a fresh process) ----------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _own_cpu() -> float:
    """CPU seconds (user + system) of this process, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backends_cpu(since: dt.datetime) -> float:
    """CPU seconds of the bench database's server backends started at or after `since`
    (this run's own: a fresh process opens its own connections), read from /proc."""
    import psycopg

    from app.core.db import libpq_dsn

    # A connection of its own, outside the pool: a pooled one may be the run's own backend.
    with psycopg.connect(libpq_dsn(BENCH_DATABASE_URL)) as connection:
        pids = [
            pid
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_start >= %s AND pid <> pg_backend_pid()",
                (since,),
            )
        ]
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def ingest(project_id: str, url: str, *, forget_pages: bool = False) -> dict[str, Any]:
    from app.core.config import settings
    from app.core.db import session_scope
    from app.gsc import service

    settings.GSC_API_BASE_URL = url
    if forget_pages:  # on a connection of its own: the run's server CPU is its new backends'
        import psycopg

        from app.core.db import libpq_dsn

        with psycopg.connect(libpq_dsn(BENCH_DATABASE_URL)) as connection:
            connection.execute("UPDATE gsc_days SET page_rows = NULL, page_digests = NULL")
    config = {"days": 1, "end": DAY.isoformat(), "since": dt.datetime.now(dt.UTC).isoformat()}
    started = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        began, cpu = time.perf_counter(), _own_cpu()
        result = service.run_backfill(
            session=session,
            project_id=__import__("uuid").UUID(project_id),
            config=config,
            progress=lambda *_: None,
            checkpoint=lambda: None,
        )
        seconds, cpu = time.perf_counter() - began, _own_cpu() - cpu
        server_cpu = _backends_cpu(started)
    return {
        **result,
        "seconds": seconds,
        "cpu": cpu,
        "server_cpu": server_cpu,
        "peak_rss_mb": _peak_rss_mb(),
    }


def baseline(kind: str, project_id: str, url: str, rows: int) -> dict[str, Any]:
    import httpx
    import sqlalchemy as sa

    from app.connections import google
    from app.connections import service as connections_service
    from app.core.db import driver_connection, session_scope
    from app.gsc.client import SearchConsoleClient
    from app.gsc.domain import PROVIDER
    from app.gsc.models import GscRow
    from app.gsc.sync import DIMENSIONS

    site_id = 999_999  # an empty property of its own (gsc_rows has no foreign keys)
    started = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        connection = connections_service.get_connection(
            session=session, project_id=__import__("uuid").UUID(project_id), provider=PROVIDER
        )
        assert connection is not None
        credential = google.parse_credential(connections_service.read_secret(connection))
        queries = dict(session.execute(sa.text("SELECT query, id FROM gsc_queries")).all())
        pages = dict(session.execute(sa.text("SELECT page, id FROM gsc_pages")).all())
        session.execute(sa.text("DELETE FROM gsc_rows WHERE site_id = :s"), {"s": site_id})
        session.commit()
        body = {
            "startDate": DAY.isoformat(),
            "endDate": DAY.isoformat(),
            "dimensions": list(DIMENSIONS),
            "type": "web",
            "dataState": "all",
        }
        upsert = (
            "INSERT INTO gsc_rows (site_id, search_type, date, query_id, page_id, country,"
            " device, clicks, impressions, position) VALUES (%s, 0, %s, %s, %s, %s, %s, %s,"
            " %s, %s) ON CONFLICT (site_id, search_type, date, query_id, page_id, country,"
            " device) DO UPDATE SET clicks = excluded.clicks, impressions ="
            " excluded.impressions, position = excluded.position"
        )
        done = 0
        with httpx.Client(timeout=60) as http:
            client = SearchConsoleClient(credential=credential, client=http, base_url=url)
            session.commit()
            server_before = _backends_cpu(started)
            began, cpu = time.perf_counter(), _own_cpu()
            for page in client.query_pages(PROPERTY, body):
                batch = page.rows or []
                if kind == "orm":
                    for row in batch:
                        keys = row.keys
                        session.add(
                            GscRow(
                                site_id=site_id,
                                search_type=0,
                                date=DAY,
                                query_id=queries[keys[1]],
                                page_id=pages[keys[2]],
                                country=keys[3],
                                device=keys[4],
                                clicks=int(row.clicks),
                                impressions=int(row.impressions),
                                position=row.position,
                            )
                        )
                    session.commit()
                else:
                    params = [
                        (
                            site_id,
                            DAY,
                            queries[row.keys[1]],
                            pages[row.keys[2]],
                            row.keys[3],
                            row.keys[4],
                            int(row.clicks),
                            int(row.impressions),
                            row.position,
                        )
                        for row in batch
                    ]
                    with driver_connection(session).cursor() as cursor:
                        cursor.executemany(upsert, params)
                    session.commit()
                done += len(batch)
                if done >= rows:
                    break
            seconds, cpu = time.perf_counter() - began, _own_cpu() - cpu
            server_cpu = _backends_cpu(started) - server_before
        session.execute(sa.text("DELETE FROM gsc_rows WHERE site_id = :s"), {"s": site_id})
        session.commit()
    return {
        "rows": done,
        "seconds": seconds,
        "cpu": cpu,
        "server_cpu": server_cpu,
        "peak_rss_mb": _peak_rss_mb(),
    }


# --- the driver ------------------------------------------------------------------------------


def _prepare_database() -> None:
    import psycopg
    import redis

    from app.core.migrations import upgrade_to_head

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    upgrade_to_head(BENCH_DATABASE_URL)
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def _connected_project(credential: dict[str, Any]) -> str:
    from app.core.db import session_scope
    from app.gsc import service
    from app.gsc.models import GscConnectionCreate
    from app.projects import service as projects_service
    from app.projects.models import ProjectCreate
    from app.users import service as users_service
    from app.users.models import UserCreate

    with session_scope() as session:
        user = users_service.create_user(
            session=session,
            user_in=UserCreate(email="bench@example.com", password="bench-password-123"),
        )
        project = projects_service.create_project(
            session=session,
            owner=user,
            project_in=ProjectCreate(name="Bench", site_url="https://bench.example.com"),
        )
        body = GscConnectionCreate(property=PROPERTY, credentials=credential)
        service.connect(session=session, project=project, body=body)
        return str(project.id)


def _truncate() -> None:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.begin() as connection:
        connection.execute(
            sa.text("TRUNCATE gsc_rows, gsc_queries, gsc_pages, gsc_totals, gsc_days")
        )
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            sa.text("VACUUM ANALYZE gsc_rows")
        )


def _run(mode: list[str]) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.gsc_ingest", *mode],
        cwd=BACKEND_DIR,
        env={**os.environ, "PYTHONPATH": str(BACKEND_DIR)},
        capture_output=True,
        text=True,
        check=False,
    )
    if output.returncode != 0:
        sys.exit(f"{mode[0]} failed:\n{output.stderr[-4000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(run[key]) for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-rows", type=int, default=50_000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ingest", nargs=2, metavar=("PROJECT", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--forget-pages", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline", nargs=3, metavar=("KIND", "PROJECT", "URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.rows)
        return
    if args.ingest:
        print(json.dumps(ingest(*args.ingest, forget_pages=args.forget_pages)))
        return
    if args.baseline:
        kind, project, url = args.baseline
        print(json.dumps(baseline(kind, project, url, args.baseline_rows)))
        return

    _prepare_database()
    print(f"fake Search Console: encoding {args.rows:,} rows ahead ...", flush=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.gsc_ingest", "--serve", "--rows", str(args.rows)],
        cwd=BACKEND_DIR,
        env={**os.environ, "PYTHONPATH": str(BACKEND_DIR)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        url = ready["url"]
        print(
            f"  {ready['bytes'] / 2**20:.0f} MB of JSON in {args.rows // 25_000 + 1} pages + totals"
        )
        project = _connected_project(ready["credential"])
        ingests, reruns, forgotten = [], [], []
        for number in range(args.repeat):
            _truncate()
            first = _run(["--ingest", project, url])
            again = _run(["--ingest", project, url])
            probed = _run(["--ingest", project, url, "--forget-pages"])
            ingests.append(first)
            reruns.append(again)
            forgotten.append(probed)
            print(
                f"  run {number + 1}: ingest {first['rows'] / first['seconds']:,.0f} rows/s"
                f" ({first['inserted']:,} new, {first['peak_rss_mb']:.0f} MB, CPU"
                f" {first['cpu']:.1f} s client + {first['server_cpu']:.1f} s server);"
                f" re-run {again['rows'] / again['seconds']:,.0f} rows/s"
                f" ({again['inserted']:,} new, {again['updated']:,} changed,"
                f" {again['peak_rss_mb']:.0f} MB, CPU {again['cpu']:.1f} s client"
                f" + {again['server_cpu']:.1f} s server); pages forgotten"
                f" {probed['rows'] / probed['seconds']:,.0f} rows/s ({probed['inserted']:,} new,"
                f" {probed['updated']:,} changed, CPU {probed['cpu']:.1f} s client"
                f" + {probed['server_cpu']:.1f} s server)",
                flush=True,
            )
        baselines = {
            kind: [
                _run(["--baseline", kind, project, url, "--baseline-rows", str(args.baseline_rows)])
                for _ in range(args.repeat)
            ]
            for kind in ("orm", "executemany")
        }
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)

    def rate(runs: list[dict[str, Any]]) -> float:
        return statistics.median(run["rows"] / run["seconds"] for run in runs)

    def cpu_rate(runs: list[dict[str, Any]]) -> float:
        """Rows per CPU second, client and server backends together (less noisy than wall
        time on a shared machine)."""
        return statistics.median(run["rows"] / (run["cpu"] + run["server_cpu"]) for run in runs)

    def cpu(runs: list[dict[str, Any]]) -> str:
        return (
            f"CPU {_median(runs, 'cpu'):.1f} s client + {_median(runs, 'server_cpu'):.1f} s"
            f" server ({cpu_rate(runs):,.0f} rows/CPU-s)"
        )

    ours, rerun = rate(ingests), rate(reruns)
    orm, many = rate(baselines["orm"]), rate(baselines["executemany"])
    print(f"\nmedians of {args.repeat} runs, {args.rows:,} rows (fetch, parse, store):")
    target = "(target >= 100,000 rows/s, <= 250 MB)"
    for label, runs, speed in (
        ("ingest (COPY + set upsert)", ingests, ours),
        ("re-run (all conflicts)", reruns, rerun),
        ("re-run, pages forgotten", forgotten, rate(forgotten)),
    ):
        print(
            f"  {label:<29} {speed:>10,.0f} rows/s {_median(runs, 'seconds'):6.2f} s"
            f"  peak RSS {_median(runs, 'peak_rss_mb'):.0f} MB  {target}\n"
            f"  {'':<29} {cpu(runs)}"
        )
    print(
        f"  re-run new rows: {max(r['inserted'] for r in reruns)}, pages skipped unchanged:"
        f" {min(r['unchanged_pages'] for r in reruns)}; pages forgotten, new rows:"
        f" {max(r['inserted'] for r in forgotten)}, changed: {max(r['updated'] for r in forgotten)}"
    )
    subset = f"(first {args.baseline_rows:,} rows)"
    print(f"  {'baseline ORM add per row':<29} {orm:>10,.0f} rows/s  {subset}")
    print(f"  {'':<29} {cpu(baselines['orm'])}")
    print(f"  {'baseline executemany upsert':<29} {many:>10,.0f} rows/s  {subset}")
    print(f"  {'':<29} {cpu(baselines['executemany'])}")
    print(f"  ratios: ingest / ORM {ours / orm:.1f}x, ingest / executemany {ours / many:.1f}x")
    ours_cpu = cpu_rate(ingests)
    print(
        f"  ratios per CPU second: ingest / ORM {ours_cpu / cpu_rate(baselines['orm']):.1f}x,"
        f" ingest / executemany {ours_cpu / cpu_rate(baselines['executemany']):.1f}x"
    )


if __name__ == "__main__":
    main()
