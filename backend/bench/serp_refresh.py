"""Rank refresh: 500 keywords against a fake DataForSEO answering each call in 200 ms, run as
a real `serp_refresh` job by a real worker, with the refresh's concurrency
(SERP_REFRESH_CONCURRENCY, default 8) against the same refresh done one call at a time
(concurrency 1), within the provider's rate limit (DATAFORSEO_REQUESTS_PER_MINUTE, default
2,000 a minute: DataForSEO's own limit for live SERP calls).

    cd backend && uv run python -m bench.serp_refresh [--keywords 500] [--delay 0.2] [--repeat 1]

Prints, per mode, the job's wall time (started to finished, from the job row), keywords per
second, provider requests per second and the most calls the provider saw in flight; then
medians and the ratio. Uses its own database (seo_platform_bench_serp) and Redis database 14,
both recreated.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BENCH_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/seo_platform_bench_serp"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"
BACKEND_DIR = Path(__file__).resolve().parents[1]

# The app reads its settings at import: point it at the bench database and Redis first.
WORKER_ENV = {
    "DATABASE_URL": BENCH_DATABASE_URL,
    "REDIS_URL": BENCH_REDIS_URL,
    "CELERY_BROKER_URL": BENCH_REDIS_URL,
    "CELERY_RESULT_BACKEND": BENCH_REDIS_URL,
    "SERP_REFRESH_DAILY_CAP": "1000000",
    "SERP_CHECK_DEPTH": "100",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(WORKER_ENV)

import redis  # noqa: E402

from tests.fakes.dataforseo import FakeDataForSeo  # noqa: E402


def _prepare_database() -> None:
    import psycopg

    from app.core.migrations import upgrade_to_head

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS seo_platform_bench_serp WITH (FORCE)")
        conn.execute("CREATE DATABASE seo_platform_bench_serp")
    upgrade_to_head(BENCH_DATABASE_URL)
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def _start_worker(env: dict[str, str]) -> "subprocess.Popen[bytes]":
    log = open(Path(tempfile.gettempdir()) / "serp-refresh-worker.log", "wb")  # noqa: SIM115
    nodename = f"bench-{uuid.uuid4().hex[:6]}@localhost"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "app.core.celery_app", "worker"),
            *("-P", "prefork", "-c", "1", "-Q", "default", "-n", nodename),
            *("--without-gossip", "--without-mingle", "-l", "WARNING"),
        ],
        cwd=BACKEND_DIR,
        env={**os.environ, "PYTHONPATH": str(BACKEND_DIR), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    from app.core.celery_app import celery_app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the worker exited at start-up (see serp-refresh-worker.log)")
        if celery_app.control.ping(destination=[nodename], timeout=0.5):
            return process
    process.kill()
    raise TimeoutError("the worker did not answer within 60 s")


def _stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait(timeout=10)


def _seed(keywords: int, fake: FakeDataForSeo) -> tuple[Any, Any]:
    from sqlmodel import Session

    from app.core.db import engine
    from app.projects import service as projects_service
    from app.projects.models import ProjectCreate
    from app.serp import service
    from app.serp.intake import Candidate
    from app.serp.models import DataForSeoConnection
    from app.users import service as users_service
    from app.users.models import UserCreate

    with Session(engine, expire_on_commit=False) as session:
        user = users_service.create_user(
            session=session,
            user_in=UserCreate(email="bench@example.com", password="bench-password-123"),
            is_superuser=True,
        )
        project = projects_service.create_project(
            session=session,
            owner=user,
            project_in=ProjectCreate(name="Bench", site_url="https://example.com"),
        )
        service.connect(
            session=session,
            project=project,
            body=DataForSeoConnection(
                provider="dataforseo", login=fake.login, password=fake.password
            ),
        )
        texts = [f"bench keyword {n}" for n in range(keywords)]
        for n, text in enumerate(texts):
            if n % 2 == 0:  # half rank somewhere in the top 100
                urls = [f"https://site{i}.example.org/" for i in range(1, 101)]
                urls[n % 100] = "https://www.example.com/page"
                fake.items[text] = [("organic", url) for url in urls]
        report = service.add_keywords(
            session=session,
            project=project,
            candidates=[
                Candidate(n, t, {"text": t, "country": "US", "language": "en"})
                for n, t in enumerate(texts, 1)
            ],
        )
        assert report.added == keywords, report.rejected
    return user, project


def _refresh(user: Any, project: Any, fake: FakeDataForSeo, keywords: int) -> dict[str, Any]:
    from sqlmodel import Session

    from app.core.db import engine
    from app.jobs.models import JobRun
    from app.serp import service

    client = redis.Redis.from_url(BENCH_REDIS_URL)
    stale = [*client.scan_iter("serp:*"), *client.scan_iter("tokens:*")]  # a fresh day
    if stale:
        client.delete(*stale)
    fake.reset()
    fake.delay = DELAY
    with Session(engine, expire_on_commit=False) as session:
        job, _ = service.start_refresh(session=session, project=project, user=user)
    deadline = time.monotonic() + keywords * DELAY * 3 + 120
    while time.monotonic() < deadline:
        with Session(engine) as session:
            row = session.get(JobRun, job.id)
            assert row is not None
            if row.status in ("completed", "failed", "cancelled"):
                break
        time.sleep(0.2)
    else:
        raise TimeoutError("the refresh did not finish")
    assert row.status == "completed", row.error_message
    assert row.started_at is not None
    assert row.finished_at is not None
    result = row.result_json or {}
    assert result["checked"] == keywords, result
    seconds = (row.finished_at - row.started_at).total_seconds()
    calls = fake.calls("/live/")
    return {
        "seconds": seconds,
        "keywords_per_second": keywords / seconds,
        "requests": len(calls),
        "requests_per_second": len(calls) / seconds,
        "most_in_flight": fake.most_in_flight,
        "ranked": result["ranked"],
    }


DELAY = 0.2


def main() -> None:
    global DELAY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keywords", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.2, help="the provider's answer time, s")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args()
    DELAY = args.delay

    from app.core.config import settings

    concurrency = args.concurrency or settings.SERP_REFRESH_CONCURRENCY
    limit = settings.DATAFORSEO_REQUESTS_PER_MINUTE
    _prepare_database()
    fake = FakeDataForSeo()
    fake.start()
    try:
        user, project = _seed(args.keywords, fake)
        runs: dict[str, list[dict[str, Any]]] = {"concurrent": [], "one at a time": []}
        for mode, n in (("concurrent", concurrency), ("one at a time", 1)):
            worker = _start_worker(
                {"DATAFORSEO_BASE_URL": fake.url, "SERP_REFRESH_CONCURRENCY": str(n)}
            )
            try:
                for _ in range(args.repeat):
                    run = _refresh(user, project, fake, args.keywords)
                    runs[mode].append(run)
                    print(
                        f"{mode:>14} (concurrency {n}): {run['seconds']:7.2f} s, "
                        f"{run['keywords_per_second']:6.1f} keywords/s, "
                        f"{run['requests_per_second']:5.1f} requests/s, "
                        f"most in flight {run['most_in_flight']}, ranked {run['ranked']}",
                        flush=True,
                    )
            finally:
                _stop(worker)
    finally:
        fake.stop()
    fast = statistics.median(r["seconds"] for r in runs["concurrent"])
    slow = statistics.median(r["seconds"] for r in runs["one at a time"])
    rate = statistics.median(r["requests_per_second"] for r in runs["concurrent"])
    print(
        f"\n{args.keywords} keywords, provider answering in {DELAY * 1000:.0f} ms, rate limit "
        f"{limit}/min ({limit / 60:.1f}/s)\n"
        f"median wall time: concurrent {fast:.2f} s, one at a time {slow:.2f} s, "
        f"ratio {slow / fast:.1f}x; concurrent request rate {rate:.1f}/s "
        f"({'within' if rate <= limit / 60 * 1.05 else 'ABOVE'} the limit)"
    )


if __name__ == "__main__":
    main()
