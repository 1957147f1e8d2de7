"""Stats, /metrics and the API's cancel/retry with real jobs run by a real worker process."""

import uuid
from datetime import timedelta

import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from app.core.db import utcnow
from app.health.service import forget_worker_ping
from app.jobs.models import JobStatus
from app.jobs.tasks import rescue_stalled_jobs
from app.maintenance import service as maintenance_service
from tests.builders import auth_headers, create_user
from tests.jobs.conftest import load, start, wait_for, wait_terminal
from tests.jobs.rows import insert_job
from tests.workers import WorkerProcess

API = "/api/v1/jobs"


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_stats_and_metrics_count_real_jobs(
    client: TestClient, session: Session, worker: WorkerProcess
) -> None:
    admin = auth_headers(create_user(session, superuser=True))
    before = scrape(client)

    jobs = [start("test_steps", config={"steps": 3, "rounds": 100}) for _ in range(5)]
    broken = start("test_broken")
    for job in [*jobs, broken]:
        wait_terminal(job.id, timeout=30)
    assert load(broken.id).status == JobStatus.failed

    forget_worker_ping()
    stats = client.get(f"{API}/stats?window_hours=1", headers=admin).json()
    assert stats["by_status"]["completed"] == 5
    assert stats["by_status"]["failed"] == 1
    assert stats["by_type"] == {"maintenance": {"completed": 5, "failed": 1}}
    assert stats["success_rate"] == round(5 / 6, 4)
    assert 0 < stats["duration_seconds"]["p50"] <= stats["duration_seconds"]["p95"] < 30
    assert 0 <= stats["pickup_latency_seconds"]["p50"] < 30
    assert stats["workers"]["online"] >= 1
    assert worker.nodename in stats["workers"]["names"]
    assert {q["name"]: q["depth"] for q in stats["queues"]} == {"default": 0, "render": 0, "low": 0}

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    maintenance = {"job_type": "maintenance"}
    assert delta("seo_jobs_started_total", **maintenance) == 6
    assert delta("seo_jobs_finished_total", **maintenance, status="completed") == 5
    assert delta("seo_jobs_finished_total", **maintenance, status="failed") == 1
    assert delta("seo_job_duration_seconds_count", **maintenance) == 6
    assert delta("seo_job_duration_seconds_bucket", **maintenance, le="+Inf") == 6
    assert delta("seo_job_duration_seconds_sum", **maintenance) > 0
    assert delta("seo_job_pickup_latency_seconds_count", **maintenance) == 6
    assert after[("seo_queue_depth", (("queue", "default"),))] == 0
    assert after[("seo_workers_online", ())] >= 1
    assert after[("seo_jobs_metrics_up", ())] == 1


def test_cancel_and_retry_of_a_real_running_job(
    client: TestClient, session: Session, worker: WorkerProcess
) -> None:
    admin = auth_headers(create_user(session, superuser=True))
    job = start("test_steps", config={"steps": 400, "rounds": 100, "pause": 0.02})
    wait_for(lambda: load(job.id).progress_current is not None, timeout=15, what="progress")

    cancelled = client.post(f"{API}/{job.id}/cancel", headers=admin)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_requested_at"] is not None
    assert wait_terminal(job.id).status == JobStatus.cancelled
    polled = client.get(f"{API}/{job.id}", headers=admin).json()
    assert polled["status"] == "cancelled"
    assert 0 < polled["progress_current"] < 400

    retried = client.post(f"{API}/{job.id}/retry", headers=admin)
    assert retried.status_code == 202, retried.text
    retry_id = retried.json()["id"]
    assert retried.json()["retry_of"] == str(job.id)
    cancel_again = client.post(f"{API}/{retry_id}/cancel", headers=admin)
    assert cancel_again.status_code == 200
    final = wait_terminal(uuid.UUID(retry_id))
    assert final.status == JobStatus.cancelled
    finished = client.post(f"{API}/{job.id}/cancel", headers=admin)
    assert finished.status_code == 200  # cancelled stays cancelled: idempotent


def test_metrics_count_what_the_rescue_sweep_did(
    client: TestClient, session: Session, redis_client: redis.Redis
) -> None:
    before = scrape(client)
    abandoned = insert_job(
        session,
        project=None,
        job_type="maintenance",
        status=JobStatus.running,
        stage=maintenance_service.HEALTH_CHECK_STAGE,
        lease_expires_at=utcnow() - timedelta(seconds=30),
    )
    out_of_attempts = insert_job(
        session,
        project=None,
        job_type="maintenance",
        status=JobStatus.running,
        stage=maintenance_service.HEALTH_CHECK_STAGE,
        lease_expires_at=utcnow() - timedelta(seconds=30),
        attempts=4,
    )
    report = rescue_stalled_jobs()  # the Beat task's body, run here
    assert report["rescued"] == 1
    assert report["failed_worker_lost"] == 1
    # Published again: this module's worker may already be running it.
    assert load(abandoned.id).status in {JobStatus.retrying, JobStatus.running, JobStatus.completed}
    assert load(out_of_attempts.id).status == JobStatus.failed

    after = scrape(client)
    for outcome in ("rescued", "failed_worker_lost"):
        key = ("seo_job_sweep_actions_total", (("outcome", outcome),))
        assert after[key] - before.get(key, 0.0) == 1
