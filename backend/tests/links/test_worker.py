"""Imports run by a real worker consuming the `low` queue: an upload through the API, and a
large export streamed by the worker in bounded memory."""

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import settings
from app.jobs.models import JobStatus
from app.links import service
from app.links.models import LinkImport
from app.projects.models import Project
from app.users.models import User
from bench.links_files import generate
from tests.jobs.conftest import wait_terminal
from tests.links.conftest import upload
from tests.links.exports import ahrefs_row, ahrefs_utf16
from tests.workers import WorkerProcess, celery_worker

pytestmark = pytest.mark.slow

LARGE_FILE_MEGABYTES = 30
# What the worker and its parse helper may grow by while importing it (a few chunks and
# batches, the caches, the helper's interpreter), whatever the file's size.
MAX_GROWTH_MB = 80


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("link-uploads")


@pytest.fixture(autouse=True)
def upload_dir(shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The API (this process) and the worker share the upload directory."""
    monkeypatch.setattr(settings, "LINKS_UPLOAD_DIR", str(shared_dir))
    return shared_dir


@pytest.fixture(scope="module")
def worker(shared_dir: Path) -> Iterator[WorkerProcess]:
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # no stale messages of other tests
    with celery_worker(
        queues="low",
        concurrency=1,
        include="app.links.tasks",
        env={"LINKS_UPLOAD_DIR": str(shared_dir)},
    ) as process:
        yield process


def test_an_upload_is_imported_by_a_worker_on_the_low_queue(
    worker: WorkerProcess,
    client: TestClient,
    project: Project,
    headers: dict[str, str],
    upload_dir: Path,
) -> None:
    rows = [
        ahrefs_row(source=f"https://s{i}.test/p", target="https://example.com/", anchor="a\nb")
        for i in range(500)
    ]
    rows.append(ahrefs_row(source="https://s1.test/p", target="https://off.test/"))
    response = upload(client, project, headers, ahrefs_utf16(rows))
    assert response.status_code == 202, response.text
    job = wait_terminal(uuid.UUID(response.json()["id"]), timeout=60)
    assert job.status == JobStatus.completed, (job.error_message, worker.log()[-3000:])
    assert job.queue == "low"
    assert job.result_json is not None
    assert (job.result_json["accepted"], job.result_json["rejected"]) == (500, 1)
    size = len(ahrefs_utf16(rows))
    assert (job.progress_current, job.progress_total, job.progress_pct) == (size, size, 100)
    assert list(upload_dir.iterdir()) == []  # the file goes with the job
    report = client.get(
        f"/api/v1/links/imports/{job.result_json['import_id']}", headers=headers
    ).json()
    assert (report["status"], report["new"], report["rejected"]) == ("completed", 500, 1)


def _peak_rss(
    process: psutil.Process, stop: threading.Event, peaks: list[int], helpers: set[int]
) -> None:
    """The pool's RSS: its worker processes and their backlink parse helpers. A worker's
    child caught between its fork and its exec is still a copy of the worker: not counted."""
    while not stop.is_set():
        rss = 0
        try:
            for child in process.children():
                rss += child.memory_info().rss
                for grandchild in child.children():
                    with contextlib.suppress(psutil.Error):
                        if "app.links.helper_process" in grandchild.cmdline():
                            rss += grandchild.memory_info().rss
                            helpers.add(grandchild.pid)
        except psutil.Error:
            rss = 0
        peaks.append(rss)
        stop.wait(0.05)


def test_a_large_export_is_streamed_in_bounded_memory(
    worker: WorkerProcess,
    session: Session,
    owner: User,
    project: Project,
    upload_dir: Path,
    tmp_path: Path,
) -> None:
    export = tmp_path / "semrush.csv"
    generate(export, "semrush", LARGE_FILE_MEGABYTES)
    size = export.stat().st_size
    pool = psutil.Process(worker.process.pid)
    before = sum(child.memory_info().rss for child in pool.children())
    stop = threading.Event()
    peaks: list[int] = []
    helpers: set[int] = set()
    sampler = threading.Thread(target=_peak_rss, args=(pool, stop, peaks, helpers), daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        job = service.start_import(
            session=session,
            project=project,
            user=owner,
            path=export,
            file_name="semrush.csv",
            size=size,
        )
        done = wait_terminal(job.id, timeout=120)
    finally:
        stop.set()
        sampler.join(timeout=5)
    assert done.status == JobStatus.completed, (done.error_message, worker.log()[-3000:])
    assert done.result_json is not None
    rows = done.result_json["accepted"]
    assert rows > 100_000
    assert done.result_json["rejected"] == 0
    growth_mb = (max(peaks) - before) / 2**20
    assert growth_mb < MAX_GROWTH_MB, f"the worker grew by {growth_mb:.0f} MB"
    assert helpers  # the worker parsed with a helper (the file is over the helper's size)
    link_import = session.get(LinkImport, uuid.UUID(done.result_json["import_id"]))
    assert link_import is not None
    assert link_import.bytes == size
    print(  # the figure, with -s
        f"{size / 2**20:.0f} MB, {rows:,} rows in {time.monotonic() - started:.1f} s, "
        f"worker growth {growth_mb:.0f} MB"
    )
