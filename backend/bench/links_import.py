"""Backlink import: a 100 MB Ahrefs export (UTF-16 LE with a BOM, tab-separated, every
field quoted, some anchors over two lines) and a 100 MB Semrush export (UTF-8 CSV), both
generated, imported by the platform's import path (encoding check, header, parse, validate,
COPY + upsert: service.run_import, what the `low` worker runs, with the parse helper
process it starts for a file this large), each in a fresh process so its peak RSS is its
own; the helper's peak is added to it, and its CPU time is reported beside the importer's.
Beside it, in the same run: Python's csv module + row-by-row ORM inserts (one INSERT per
row, as a first version would do) on the first rows of the same files, and the ratio of
rows per second.

Targets: >= 100,000 rows/s and peak RSS <= 200 MB for the import path. Medians of
`--repeat` runs (each a fresh import into an empty table).

Run from backend/:  uv run python -m bench.links_import [--megabytes 100] [--repeat 3]
It creates (and drops at the end) its own database on the local PostgreSQL,
`seo_platform_bench_links` unless BENCH_LINKS_DATABASE names another (two runs at once need
two); the files go to a temporary directory, removed at the end.
"""

import os

BENCH_DATABASE = os.environ.get("BENCH_LINKS_DATABASE", "seo_platform_bench_links")
BENCH_DATABASE_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DATABASE}"
os.environ.update(
    {
        "DATABASE_URL": BENCH_DATABASE_URL,
        "ENVIRONMENT": "local",
        "LOG_LEVEL": "WARNING",
        "FRONTEND_DIST": "/nonexistent",
    }
)

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psutil  # type: ignore[import-untyped]  # noqa: E402
import psycopg  # noqa: E402

from bench.links_files import generate  # noqa: E402

BACKEND_DIR = Path(__file__).resolve().parents[1]
TARGET_ROWS_PER_SECOND = 100_000
TARGET_PEAK_RSS_MB = 200
SITE = "https://example.com"


def _prepare_database() -> None:
    from app.core.migrations import upgrade_to_head

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    upgrade_to_head(BENCH_DATABASE_URL)


def _drop_database() -> None:
    from app.core.db import engine

    engine.dispose()
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def _create_project() -> uuid.UUID:
    from app.core.db import session_scope
    from app.projects.models import ProjectCreate
    from app.projects.service import create_project
    from app.users.models import UserCreate
    from app.users.service import create_user

    with session_scope() as session:
        user = create_user(
            session=session,
            user_in=UserCreate(email="bench@example.com", password="bench-password-1"),
        )
        project = create_project(
            session=session,
            owner=user,
            project_in=ProjectCreate(name="Bench", site_url=SITE),
        )
        return project.id


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: ru_maxrss would carry the parent's peak over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(path: Path, project_id: uuid.UUID, upload_dir: Path) -> dict[str, Any]:
    """In a fresh process: the import path as the worker runs it (service.run_import)."""
    from app.core.config import settings
    from app.core.db import session_scope
    from app.jobs import service as jobs_service
    from app.links import service
    from app.links.domain import LINKS_INGEST_JOB
    from app.links.models import LinkImport
    from app.projects.models import Project

    settings.LINKS_UPLOAD_DIR = str(upload_dir)
    import_id = uuid.uuid4()
    with session_scope() as session:
        project = session.get(Project, project_id)
        assert project is not None
        # The job row without publishing it: no worker runs here, this process does.
        job, _ = jobs_service.record_job(
            session=session,
            job_type=LINKS_INGEST_JOB,
            stage=service.INGEST_STAGE,
            project=project,
            user=None,
            config={"import_id": str(import_id)},
        )
        session.add(
            LinkImport(
                id=import_id,
                project_id=project_id,
                job_id=job.id,
                file_name=path.name,
                format="?",
                encoding="?",
                delimiter=",",
                bytes=path.stat().st_size,
            )
        )
        session.commit()
    upload = service.upload_path(import_id)
    upload.parent.mkdir(parents=True, exist_ok=True)
    os.link(path, upload)  # the upload's place, without copying 100 MB
    backend = _BackendCpu(service.connect_for_import)
    service.connect_for_import = backend.connect
    helpers = _ChildrenPeak()
    rss_before = _peak_rss_mb()
    cpu_before = _own_cpu()
    helper_cpu_before = _children_cpu()
    started = time.perf_counter()
    with session_scope() as session:
        result = service.run_import(
            session=session, import_id=import_id, job_id=job.id, progress=lambda _d, _t: None
        )
    seconds = time.perf_counter() - started
    backend.stop()
    helpers.stop()
    upload.unlink()
    return {
        "rows": result["rows"],
        "accepted": result["accepted"],
        "seconds": seconds,
        "python_cpu": _own_cpu() - cpu_before,
        "helper_cpu": _children_cpu() - helper_cpu_before,
        "postgres_cpu": backend.seconds,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
        "helper_peak_rss_mb": helpers.peak_mb,
    }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    """The CPU time of this process's ended children (the import's parse helper)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _ChildrenPeak:
    """The peak RSS (VmHWM, since its exec) of the import's parse helper, a child of this
    process's main thread, sampled every 10 ms from /proc (VmHWM only grows: a sample misses
    at most the helper's last 10 ms of growth). A child is counted once it runs the helper
    module: before its exec it is still a copy of this process."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        pid = os.getpid()
        children = Path(f"/proc/{pid}/task/{pid}/children")
        while not self._done.is_set():
            for child in children.read_text().split():
                try:
                    if (
                        b"app.links.helper_process"
                        not in Path(f"/proc/{child}/cmdline").read_bytes()
                    ):
                        continue
                    status = Path(f"/proc/{child}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
            self._done.wait(0.01)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


class _BackendCpu:
    """The CPU time of the import's PostgreSQL backend process (sampled until the import
    closes its connection: the last 20 ms may be missed)."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self._connect = connect
        self.seconds = 0.0
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def connect(self) -> psycopg.Connection[Any]:
        connection = self._connect()
        process = psutil.Process(connection.info.backend_pid)
        start = sum(process.cpu_times()[:2])

        def sample() -> None:
            while not self._done.is_set():
                try:
                    self.seconds = sum(process.cpu_times()[:2]) - start
                except psutil.Error:
                    return
                self._done.wait(0.02)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return connection

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()


def run_baseline(path: Path, project_id: uuid.UUID, kind: str, rows: int) -> dict[str, Any]:
    """In a fresh process: csv module + one ORM INSERT per row, on the first `rows` rows."""
    from urllib.parse import urlsplit

    from app.core.db import session_scope
    from app.links.models import Backlink

    ahrefs = kind == "ahrefs"
    started = time.perf_counter()
    done = 0
    with (
        path.open(encoding="utf-16" if ahrefs else "utf-8", newline="") as text,
        session_scope() as session,
    ):
        reader = csv.DictReader(text, delimiter="\t" if ahrefs else ",")
        for record in reader:
            if done >= rows:
                break
            source = record["Referring page URL" if ahrefs else "Source url"]
            target = record["Target URL" if ahrefs else "Target url"]
            first = record["First seen"]
            last = record["Last seen"]
            session.add(
                Backlink(
                    project_id=project_id,
                    link_key=uuid.uuid4(),
                    source_url=source,
                    target_url=target,
                    referring_domain=(urlsplit(source).hostname or "").removeprefix("www."),
                    anchor=record["Anchor"][:1000],
                    first_seen=date.fromisoformat(first[:10]) if ahrefs else None,
                    last_seen=date.fromisoformat(last[:10]) if ahrefs else None,
                    nofollow=record["Nofollow"] == "true",
                )
            )
            session.flush()  # one INSERT per row
            done += 1
            if done % 1000 == 0:
                session.commit()
        session.commit()
    seconds = time.perf_counter() - started
    return {"rows": done, "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def _child(*args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.links_import", *args],
        cwd=BACKEND_DIR,
        check=False,
        capture_output=True,
        text=True,
    )
    if output.returncode != 0:
        raise RuntimeError(f"bench child {args[:2]} failed:\n{output.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def _empty_backlinks() -> None:
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:5432/{BENCH_DATABASE}", autocommit=True
    ) as conn:
        conn.execute("TRUNCATE backlinks, link_imports CASCADE")
        conn.execute("VACUUM ANALYZE backlinks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    parser.add_argument("--uploads", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "ours":
        print(json.dumps(run_ours(Path(args.file), uuid.UUID(args.project), Path(args.uploads))))
        return
    if args.child == "baseline":
        result = run_baseline(
            Path(args.file), uuid.UUID(args.project), args.kind, args.baseline_rows
        )
        print(json.dumps(result))
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-links-"))
    _prepare_database()
    try:
        project_id = _create_project()
        report = []
        cpu_report = []
        for kind in ("ahrefs", "semrush"):
            path = workdir / f"{kind}.csv"
            started = time.perf_counter()
            generate(path, kind, args.megabytes)
            print(
                f"generated {kind}: {path.stat().st_size / 2**20:.0f} MB "
                f"in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            ours = []
            for _ in range(args.repeat):
                _empty_backlinks()
                run = _child(
                    "--child", "ours", "--file", str(path), "--project", str(project_id),
                    "--uploads", str(workdir / "uploads"),
                )  # fmt: skip
                ours.append(run)
                print(
                    f"  ours: {run['rows']:,} rows in {run['seconds']:.2f} s "
                    f"(CPU: Python {run['python_cpu']:.2f} s + parse helper "
                    f"{run['helper_cpu']:.2f} s, PostgreSQL {run['postgres_cpu']:.2f} s), "
                    f"peak RSS {run['peak_rss_mb']:.0f} MB ({run['rss_before_mb']:.0f} MB "
                    f"before the import) + helper {run['helper_peak_rss_mb']:.0f} MB",
                    flush=True,
                )
            _empty_backlinks()
            base = _child(
                "--child", "baseline", "--file", str(path), "--project", str(project_id),
                "--kind", kind, "--baseline-rows", str(args.baseline_rows),
            )  # fmt: skip
            print(
                f"  csv + row-by-row ORM: {base['rows']:,} rows in {base['seconds']:.2f} s",
                flush=True,
            )
            rows = ours[0]["rows"]
            rate = statistics.median(r["rows"] / r["seconds"] for r in ours)
            # The rate if the machine's 2 cores did nothing but this import's work.
            cpu_rate = statistics.median(
                2 * r["rows"] / (r["python_cpu"] + r["helper_cpu"] + r["postgres_cpu"])
                for r in ours
            )
            base_rate = base["rows"] / base["seconds"]
            # The import's process tree: its own peak and its parse helper's, added (an
            # upper bound: the two peaks need not coincide).
            rss = max(r["peak_rss_mb"] + r["helper_peak_rss_mb"] for r in ours)
            # CPU seconds per million rows, medians: the import's process, its parse helper
            # and its PostgreSQL backend.
            per_m = [
                statistics.median(r[part] / r["rows"] * 1e6 for r in ours)
                for part in ("python_cpu", "helper_cpu", "postgres_cpu")
            ]
            report.append((kind, rows, rate, cpu_rate, rss, base_rate))
            cpu_report.append((kind, *per_m))
            path.unlink()
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(
            f"{'file':<26}{'rows':>9}{'rows/s':>10}{'rows/s (CPU)':>14}{'peak RSS':>10}"
            f"{'baseline rows/s':>17}{'ratio':>8}"
        )
        ok = True
        for kind, rows, rate, cpu_rate, rss, base_rate in report:
            label = "Ahrefs UTF-16 LE tab" if kind == "ahrefs" else "Semrush UTF-8 CSV"
            print(
                f"{label + f' {args.megabytes} MB':<26}{rows:>9,}{rate:>10,.0f}{cpu_rate:>14,.0f}"
                f"{rss:>7.0f} MB{base_rate:>17,.0f}{rate / base_rate:>7.0f}x"
            )
            ok = ok and rate >= TARGET_ROWS_PER_SECOND and rss <= TARGET_PEAK_RSS_MB
        for kind, importer_per_m, helper_per_m, postgres_per_m in cpu_report:
            print(
                f"{kind}: CPU per million rows: importer {importer_per_m:.2f} s + parse helper "
                f"{helper_per_m:.2f} s, PostgreSQL {postgres_per_m:.2f} s"
            )
        print(
            "rows/s: wall clock, median; rows/s (CPU): 2 cores over the CPU time of the "
            "importing process, its parse helper and its PostgreSQL backend (the rate on 2 "
            "cores doing nothing else); peak RSS: the importing process's peak plus its "
            "helper's"
        )
        print(
            f"targets: >= {TARGET_ROWS_PER_SECOND:,} rows/s, peak RSS <= "
            f"{TARGET_PEAK_RSS_MB} MB (wall clock): {'met' if ok else 'NOT met'}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        _drop_database()


if __name__ == "__main__":
    main()
