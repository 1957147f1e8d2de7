"""Whole audits at scale: a real worker runs the audit job (crawl, checks, storage in
PostgreSQL) against generated sites served by nginx on loopback.

    cd backend && uv run python -m bench.audit_scale [--pages 20000] [--repeat 3]

In one run it measures:
- Scale: a `--pages` audit (default 20,000): the worker's peak RSS (its process tree:
  the Celery parent, the pool child that runs the job and its parse worker) and the time per
  page of the first and the last quarter of the crawl (from the pages' storage timestamps).
- Speed: `--repeat` whole audits of the 5,000-page site against Scrapy's bare crawl of the
  same site at the same concurrency (32), alternating: pages/s (the audit's from job start to
  completion, every stage included) and peak memory, medians and ratios. Memory is reported
  for the audit's processes (the pool child and its parse worker, by PSS) and for the whole
  worker with its Celery parent (PSS and RSS sums); Scrapy's is its RSS.

CPU seconds are reported beside wall time (a shared machine stretches wall time, far less
CPU time): the worker's processes (user + system, sampled every 0.2 s per process, so a
process that ends loses at most its last 0.2 s) and the PostgreSQL backends serving the
bench database, over each audit.

Rendering is off for these audits (the render stage has its own benchmark, render_speed).
It uses its own database (seo_platform_bench_audit, or AUDIT_BENCH_DATABASE) and Redis
database (5, or AUDIT_BENCH_REDIS_DB), both recreated.
"""

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BENCH_DATABASE = os.environ.get("AUDIT_BENCH_DATABASE", "seo_platform_bench_audit")
BENCH_DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
BENCH_REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('AUDIT_BENCH_REDIS_DB', '5')}"
CONCURRENCY = 32
BACKEND_DIR = Path(__file__).resolve().parents[1]

# The app reads its settings at import: point it at the bench database and Redis first.
WORKER_ENV = {
    "DATABASE_URL": BENCH_DATABASE_URL,
    "REDIS_URL": BENCH_REDIS_URL,
    "CELERY_BROKER_URL": BENCH_REDIS_URL,
    "CELERY_RESULT_BACKEND": BENCH_REDIS_URL,
    "CRAWL_ALLOW_PRIVATE_NETWORKS": "true",
    "CRAWL_CONCURRENCY": str(CONCURRENCY),
    "CRAWL_PER_HOST_CONCURRENCY": str(CONCURRENCY),
    "MAX_CRAWL_DEPTH": "100",
    # The operator's ceiling on pages per audit (a project cannot ask for more).
    "MAX_CRAWL_PAGES": "100000",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(WORKER_ENV)

import psutil  # noqa: E402
import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.crawl_speed import free_port, generate_site, measure, start_nginx  # noqa: E402


def _prepare_database() -> None:
    import psycopg

    from app.core.migrations import upgrade_to_head

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    upgrade_to_head(BENCH_DATABASE_URL)
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def _start_worker() -> subprocess.Popen[bytes]:
    log = open(Path(tempfile.gettempdir()) / "audit-scale-worker.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app.core.celery_app",
            "worker",
            "-P",
            "prefork",
            "-c",
            "1",
            "-Q",
            "default,render",
            "-n",
            f"bench-{uuid.uuid4().hex[:6]}@localhost",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
        cwd=BACKEND_DIR,
        env={**os.environ, "PYTHONPATH": str(BACKEND_DIR)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    from app.core.celery_app import celery_app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if celery_app.control.ping(timeout=0.5):
            return process
    process.kill()
    sys.exit("the worker did not start; see audit-scale-worker.log")


def _tree_memory(root: psutil.Process) -> tuple[int, int, int]:
    """(RSS summed over the worker's process tree, PSS summed over it, PSS of the processes
    running the audit: the pool child and its parse worker, without the Celery parent).

    A forked pool child shares its parent's pages, which an RSS sum counts twice; PSS counts
    each shared page once, split between its sharers, so the PSS sum is the memory the
    worker really holds. The parent is the worker's supervisor: it exists whether or not
    an audit runs and serves every pool child, so the audit's own cost is its processes'."""
    rss = pss = audit_pss = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += info.pss
        if process.pid != root.pid:
            audit_pss += info.pss
    return rss, pss, audit_pss


class CpuMeter:
    """CPU seconds (user + system) used by the worker's process tree and by the PostgreSQL
    backends of the bench database since the meter started, per process: a process seen
    at the start counts from there, one that starts later from zero."""

    def __init__(self, worker: psutil.Process) -> None:
        self._worker = worker
        self._start: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        for kind, process in self._processes():
            cpu = self._cpu(process)
            if cpu is not None:
                self._start[process.pid] = cpu
                self._last[process.pid] = (kind, cpu)

    def _processes(self) -> list[tuple[str, psutil.Process]]:
        found = [("worker", self._worker)]
        with contextlib.suppress(psutil.Error):
            found += [("worker", child) for child in self._worker.children(recursive=True)]
        marker = f" {BENCH_DATABASE} "
        for process in psutil.process_iter(["name", "cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or []) + " "
            if process.info["name"] == "postgres" and marker in cmdline:
                found.append(("database", process))
        return found

    @staticmethod
    def _cpu(process: psutil.Process) -> float | None:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)

    def sample(self) -> None:
        for kind, process in self._processes():
            cpu = self._cpu(process)
            if cpu is not None:
                self._last[process.pid] = (kind, cpu)

    def seconds(self, kind: str) -> float:
        return sum(
            cpu - self._start.get(pid, 0.0)
            for pid, (seen, cpu) in self._last.items()
            if seen == kind
        )


def run_audit(url: str, worker: subprocess.Popen[bytes], pages: int) -> dict[str, Any]:
    from sqlmodel import Session

    from app.audits import service
    from app.core.db import engine
    from app.jobs.models import JobRun
    from app.projects.models import Project, ProjectCreate
    from app.users.models import User

    with Session(engine, expire_on_commit=False) as session:
        user = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", hashed_password="x")
        session.add(user)
        session.commit()
        project = Project.model_validate(
            ProjectCreate(
                name="bench",
                site_url=url,
                max_crawl_pages=min(100_000, pages + 1000),
                max_crawl_depth=100,
                render_enabled=False,
            ),
            update={"owner_id": user.id},
        )
        session.add(project)
        session.commit()
        watched = psutil.Process(worker.pid)
        cpu = CpuMeter(watched)
        job, _ = service.start_audit(session=session, project=project, user=user)

    peak_total = peak_single = peak_audit = 0
    while True:
        cpu.sample()
        total, single, audit_only = _tree_memory(watched)
        peak_total, peak_single = max(peak_total, total), max(peak_single, single)
        peak_audit = max(peak_audit, audit_only)
        with Session(engine) as session:
            row = session.get(JobRun, job.id)
            assert row is not None
            if row.status in ("completed", "failed", "cancelled"):
                break
        time.sleep(0.2)
    cpu.sample()
    if row.status != "completed":
        sys.exit(f"the audit ended {row.status}: {row.error_message}")
    assert row.started_at is not None
    assert row.finished_at is not None
    assert row.result_json is not None
    seconds = (row.finished_at - row.started_at).total_seconds()
    with engine.connect() as connection:
        stamps = (
            connection.execute(
                sa.text(
                    "SELECT extract(epoch FROM p.crawled_at) FROM audit_pages p"
                    " JOIN audit_runs r ON r.id = p.audit_id WHERE r.job_id = :id ORDER BY p.id"
                ),
                {"id": job.id},
            )
            .scalars()
            .all()
        )
    quarter = len(stamps) // 4
    first = (float(stamps[quarter]) - float(stamps[0])) / quarter
    last = (float(stamps[-1]) - float(stamps[-1 - quarter])) / quarter
    return {
        "pages": row.result_json["pages"],
        "issues": row.result_json["issues"],
        "seconds": seconds,
        "pages_per_second": row.result_json["pages"] / seconds,
        "peak_rss_mb": peak_total / 1024 / 1024,
        "peak_pss_mb": peak_single / 1024 / 1024,
        "peak_audit_pss_mb": peak_audit / 1024 / 1024,
        "worker_cpu_seconds": cpu.seconds("worker"),
        "database_cpu_seconds": cpu.seconds("database"),
        "first_quarter_ms_per_page": first * 1000,
        "last_quarter_ms_per_page": last * 1000,
    }


def _print_audit(label: str, result: dict[str, Any]) -> None:
    print(
        f"{label}: {result['pages']} pages, {result['issues']} issues in "
        f"{result['seconds']:.1f}s = {result['pages_per_second']:.0f} pages/s; "
        f"worker peak RSS {result['peak_rss_mb']:.0f} MB (PSS "
        f"{result['peak_pss_mb']:.0f} MB, the audit's processes "
        f"{result['peak_audit_pss_mb']:.0f} MB); CPU worker "
        f"{result['worker_cpu_seconds']:.1f}s + database {result['database_cpu_seconds']:.1f}s "
        f"({1000 * result['worker_cpu_seconds'] / result['pages']:.2f} + "
        f"{1000 * result['database_cpu_seconds'] / result['pages']:.2f} ms/page); "
        f"ms/page first quarter "
        f"{result['first_quarter_ms_per_page']:.2f}, last quarter "
        f"{result['last_quarter_ms_per_page']:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    _prepare_database()
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's worker runs as an unprivileged user
        print(f"generating sites of 5000 and {args.pages} pages ...", flush=True)
        generate_site(work / "small", 5000)
        generate_site(work / "large", args.pages)
        small_port, large_port = free_port(), free_port()
        (work / "n1").mkdir()
        (work / "n2").mkdir()
        servers = [
            start_nginx(work / "small", work / "n1", small_port),
            start_nginx(work / "large", work / "n2", large_port),
        ]
        small = f"http://127.0.0.1:{small_port}/"
        large = f"http://127.0.0.1:{large_port}/"
        worker = _start_worker()
        audits: list[dict[str, Any]] = []
        scrapy: list[dict[str, Any]] = []
        scale: list[dict[str, Any]] = []
        try:
            for round_number in range(1, args.repeat + 1):
                order = ("scrapy", "audit") if round_number % 2 else ("audit", "scrapy")
                for which in order:
                    if which == "scrapy":
                        result = measure("scrapy", small)
                        scrapy.append(result)
                        print(
                            f"round {round_number} scrapy: {result['pages']} pages in "
                            f"{result['seconds']:.1f}s = "
                            f"{result['pages'] / result['seconds']:.0f} pages/s, "
                            f"peak RSS {result['peak_rss_mb']:.0f} MB",
                            flush=True,
                        )
                    else:
                        audits.append(run_audit(small, worker, 5000))
                        _print_audit(f"round {round_number} audit (5000)", audits[-1])
            for round_number in range(1, max(1, args.repeat - 1) + 1):
                scale.append(run_audit(large, worker, args.pages))
                _print_audit(f"scale {round_number} audit ({args.pages})", scale[-1])
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(timeout=30)
            for server in servers:
                server.terminate()
                server.wait(timeout=10)

    def med(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(float(row[key]) for row in rows)

    scrapy_speed = statistics.median(r["pages"] / r["seconds"] for r in scrapy)
    audit_speed = med(audits, "pages_per_second")
    print(f"\nmedians, concurrency {CONCURRENCY}:")
    print(
        f"whole audit, 5000 pages: {audit_speed:.0f} pages/s, worker peak RSS "
        f"{med(audits, 'peak_rss_mb'):.0f} MB, PSS {med(audits, 'peak_pss_mb'):.0f} MB, "
        f"PSS of the audit's processes (pool child + parse worker) "
        f"{med(audits, 'peak_audit_pss_mb'):.0f} MB  ({args.repeat} runs)"
    )
    print(
        f"whole audit, 5000 pages, CPU: worker {med(audits, 'worker_cpu_seconds'):.1f}s, "
        f"PostgreSQL backends {med(audits, 'database_cpu_seconds'):.1f}s, wall "
        f"{med(audits, 'seconds'):.1f}s"
    )
    print(
        f"Scrapy bare crawl, 5000 pages: {scrapy_speed:.0f} pages/s, peak RSS "
        f"{med(scrapy, 'peak_rss_mb'):.0f} MB  ({args.repeat} runs)"
    )
    scrapy_rss = med(scrapy, "peak_rss_mb")
    print(
        f"audit / scrapy: speed x{audit_speed / scrapy_speed:.2f} (target >= 2); memory "
        f"(target <= 1): the audit's processes x{med(audits, 'peak_audit_pss_mb') / scrapy_rss:.2f}"
        f" by PSS; the whole worker with its Celery parent "
        f"x{med(audits, 'peak_pss_mb') / scrapy_rss:.2f} by PSS, "
        f"x{med(audits, 'peak_rss_mb') / scrapy_rss:.2f} by RSS sum"
    )
    first, last = med(scale, "first_quarter_ms_per_page"), med(scale, "last_quarter_ms_per_page")
    print(
        f"scale, {args.pages} pages ({len(scale)} runs): worker peak RSS "
        f"{med(scale, 'peak_rss_mb'):.0f} MB (target < 300; "
        f"PSS {med(scale, 'peak_pss_mb'):.0f} MB), "
        f"{med(scale, 'pages_per_second'):.0f}"
        f" pages/s; ms/page first quarter {first:.2f}, last quarter {last:.2f} "
        f"(last / first x{last / first:.2f}, target <= ~1)"
    )
    print(
        f"scale, {args.pages} pages, CPU: worker {med(scale, 'worker_cpu_seconds'):.1f}s, "
        f"PostgreSQL backends {med(scale, 'database_cpu_seconds'):.1f}s, wall "
        f"{med(scale, 'seconds'):.1f}s"
    )


if __name__ == "__main__":
    main()
