"""The jobs API: visibility, ETags, lists, cancel, retry, bulk retry, maintenance, queues.
Jobs here are rows in given states (no worker); tests/jobs/test_job_stats.py runs real ones."""

import json
import uuid
from datetime import timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core import pagination
from app.jobs.models import JobPublic, JobRun, JobStatus
from app.maintenance import service as maintenance_service
from tests.builders import auth_headers, create_project, create_user
from tests.jobs.rows import insert_job

API = "/api/v1/jobs"


def test_owner_reads_job_with_etag_and_304(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    job = insert_job(session, project=project, progress_pct=42.5, progress_message="crawling")
    response = client.get(f"{API}/{job.id}", headers=auth_headers(owner))
    assert response.status_code == 200, response.text
    assert JobPublic.model_validate(response.json()) == JobPublic.model_validate(job)
    assert "error_traceback" not in response.json()
    etag = response.headers["etag"]
    assert response.headers["cache-control"] == "private, no-cache"

    again = client.get(f"{API}/{job.id}", headers={**auth_headers(owner), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = client.get(
        f"{API}/{job.id}", headers={**auth_headers(owner), "If-None-Match": f'"x", W/{etag}'}
    )
    assert listed.status_code == 304

    # Progress moves: the old ETag no longer matches and the new body shows it.
    job.progress_pct = 60.0
    job.progress_message = "rendering"
    session.add(job)
    session.commit()
    moved = client.get(f"{API}/{job.id}", headers={**auth_headers(owner), "If-None-Match": etag})
    assert moved.status_code == 200
    assert moved.json()["progress_pct"] == 60.0
    assert moved.json()["progress_message"] == "rendering"
    assert moved.headers["etag"] != etag


def test_jobs_are_visible_by_project_ownership(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    stranger = create_user(session)
    admin = create_user(session, superuser=True)
    job = insert_job(session, project=create_project(session, owner=owner))
    # A job without a project, started by the owner: still for superusers only.
    system_job = insert_job(session, project=None, user=owner, job_type="maintenance")

    def status_of(job_id: uuid.UUID, user: object) -> int:
        return client.get(f"{API}/{job_id}", headers=auth_headers(user)).status_code  # type: ignore[arg-type]

    assert status_of(job.id, owner) == 200
    assert status_of(job.id, stranger) == 404
    assert status_of(job.id, admin) == 200
    assert status_of(system_job.id, owner) == 404
    assert status_of(system_job.id, stranger) == 404
    assert status_of(system_job.id, admin) == 200
    unknown = client.get(f"{API}/{uuid.uuid4()}", headers=auth_headers(owner))
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Job not found"}
    # Same answer for "not yours" and "does not exist".
    assert client.get(f"{API}/{job.id}", headers=auth_headers(stranger)).json() == unknown.json()

    for method, path in (("post", f"{API}/{job.id}/cancel"), ("post", f"{API}/{job.id}/retry")):
        response = getattr(client, method)(path, headers=auth_headers(stranger))
        assert response.status_code == 404, path
    assert client.get(API, headers=auth_headers(stranger)).json()["count"] == 0
    assert client.get(API, headers=auth_headers(owner)).json()["count"] == 1
    assert client.get(API, headers=auth_headers(admin)).json()["count"] == 2


def test_status_route_checks_the_account(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    job = insert_job(session, project=create_project(session, owner=owner))
    assert client.get(f"{API}/{job.id}").status_code == 401
    bad = client.get(f"{API}/{job.id}", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert bad.json()["detail"] == "Could not validate credentials"
    ghost = create_user(session)
    ghost_headers = auth_headers(ghost)
    session.delete(ghost)
    session.commit()
    assert client.get(f"{API}/{job.id}", headers=ghost_headers).status_code == 401
    owner.is_active = False
    session.add(owner)
    session.commit()
    disabled = client.get(f"{API}/{job.id}", headers=auth_headers(owner))
    assert disabled.status_code == 403
    assert disabled.json()["detail"] == "This account is disabled"


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/not-a-uuid",
        f"{API}/123",
        f"{API}/not-a-uuid/cancel",
        f"{API}?limit=0",
        f"{API}?limit=501",
        f"{API}?limit=-1",
        f"{API}?offset=-5",
        f"{API}?limit=abc",
        f"{API}?status=exploded",
        f"{API}?job_type=mining",
        f"{API}?project_id=nope",
        f"{API}/stats?window_hours=0",
        f"{API}/stats?window_hours=999999",
        f"{API}/project/xyz",
    ],
)
def test_bad_input_is_422_with_a_message(client: TestClient, session: Session, path: str) -> None:
    headers = auth_headers(create_user(session))
    response = (
        client.post(path, headers=headers)
        if path.endswith("cancel")
        else client.get(path, headers=headers)
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_lists_filter_paginate_newest_first(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    shop = create_project(session, owner=owner, site_url="https://shop.example")
    blog = create_project(session, owner=owner, site_url="https://blog.example")
    other = create_project(session, owner=create_user(session))
    jobs = [
        insert_job(session, project=shop, age=timedelta(minutes=10 - i), status=status)
        for i, status in enumerate(
            [JobStatus.completed, JobStatus.failed, JobStatus.queued, JobStatus.running]
        )
    ]
    check = insert_job(session, project=blog, job_type="maintenance", status=JobStatus.completed)
    insert_job(session, project=other)
    headers = auth_headers(owner)

    everything = client.get(API, headers=headers).json()
    assert everything["count"] == 5
    assert [j["id"] for j in everything["data"]] == [
        str(check.id),
        *[str(j.id) for j in reversed(jobs)],
    ]
    page = client.get(f"{API}?limit=2&offset=1", headers=headers).json()
    assert page["count"] == 5
    assert [j["id"] for j in page["data"]] == [str(jobs[3].id), str(jobs[2].id)]

    shop_jobs = client.get(f"{API}/project/{shop.id}", headers=headers).json()
    assert shop_jobs["count"] == 4
    assert client.get(f"{API}?project_id={shop.id}", headers=headers).json()["count"] == 4
    finished = client.get(
        f"{API}/project/{shop.id}?status=completed&status=failed", headers=headers
    ).json()
    assert {j["status"] for j in finished["data"]} == {"completed", "failed"}
    by_type = client.get(f"{API}?job_type=maintenance", headers=headers).json()
    assert [j["id"] for j in by_type["data"]] == [str(check.id)]
    assert client.get(f"{API}?job_type=maintenance&status=failed", headers=headers).json() == {
        "data": [],
        "count": 0,
        "has_more": False,
        "count_is_estimate": False,
    }
    # Another user's project: 404, whether as a filter or a path.
    assert client.get(f"{API}/project/{other.id}", headers=headers).status_code == 404
    assert client.get(f"{API}?project_id={other.id}", headers=headers).status_code == 404
    assert client.get(f"{API}/project/{uuid.uuid4()}", headers=headers).status_code == 404


def test_cancel_semantics(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    headers = auth_headers(owner)
    queued = insert_job(session, project=project)
    response = client.post(f"{API}/{queued.id}/cancel", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None
    again = client.post(f"{API}/{queued.id}/cancel", headers=headers)
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"

    running = insert_job(session, project=project, status=JobStatus.running)
    requested = client.post(f"{API}/{running.id}/cancel", headers=headers)
    assert requested.status_code == 200
    assert requested.json()["status"] == "running"
    assert requested.json()["cancel_requested_at"] is not None

    for state in (JobStatus.completed, JobStatus.failed):
        finished = insert_job(session, project=project, status=state)
        conflict = client.post(f"{API}/{finished.id}/cancel", headers=headers)
        assert conflict.status_code == 409
        assert conflict.json()["status"] == state.value
        assert state.value in conflict.json()["detail"]
        session.refresh(finished)
        assert finished.status == state


def _maintenance_job(session: Session, status: JobStatus, **fields: object) -> JobRun:
    return insert_job(
        session,
        project=None,
        job_type="maintenance",
        status=status,
        stage=maintenance_service.HEALTH_CHECK_STAGE,
        **fields,
    )


def test_retry_makes_a_linked_job(
    client: TestClient, session: Session, redis_client: redis.Redis
) -> None:
    admin = create_user(session, superuser=True)
    headers = auth_headers(admin)
    failed = _maintenance_job(
        session, JobStatus.failed, error_category="unhealthy", error_message="redis down"
    )
    response = client.post(f"{API}/{failed.id}/retry", headers=headers)
    assert response.status_code == 202, response.text
    retried = response.json()
    assert retried["retry_of"] == str(failed.id)
    assert retried["status"] == "queued"
    assert retried["id"] != str(failed.id)
    assert retried["attempts"] == 0
    assert retried["stage"] == maintenance_service.HEALTH_CHECK_STAGE
    # Its message is on the broker, with the job id as the task id.
    message = json.loads(redis_client.lindex("default", -1) or b"{}")
    assert message["headers"]["id"] == retried["id"]

    for state in (JobStatus.queued, JobStatus.running, JobStatus.completed):
        other = _maintenance_job(session, state)
        conflict = client.post(f"{API}/{other.id}/retry", headers=headers)
        assert conflict.status_code == 409, state
        assert conflict.json()["status"] == state.value
    cancelled = _maintenance_job(session, JobStatus.cancelled)
    assert client.post(f"{API}/{cancelled.id}/retry", headers=headers).status_code == 202


def test_bulk_retry_is_scoped_and_not_repeated(
    client: TestClient, session: Session, redis_client: redis.Redis
) -> None:
    owner = create_user(session)
    admin = create_user(session, superuser=True)
    project = create_project(session, owner=owner)
    stage = {"stage": maintenance_service.HEALTH_CHECK_STAGE, "job_type": "maintenance"}
    own_failed = [
        insert_job(session, project=project, status=JobStatus.failed, **stage) for _ in range(3)
    ]
    insert_job(session, project=project, status=JobStatus.completed, **stage)
    insert_job(session, project=project, status=JobStatus.cancelled, **stage)
    foreign = insert_job(
        session, project=create_project(session, owner=admin), status=JobStatus.failed, **stage
    )
    system = _maintenance_job(session, JobStatus.failed)

    response = client.post(f"{API}/retry-failed?limit=2", headers=auth_headers(owner))
    assert response.status_code == 202, response.text
    assert response.json()["count"] == 2
    assert {j["retry_of"] for j in response.json()["data"]} == {str(j.id) for j in own_failed[:2]}
    rest = client.post(f"{API}/retry-failed?project_id={project.id}", headers=auth_headers(owner))
    assert [j["retry_of"] for j in rest.json()["data"]] == [str(own_failed[2].id)]
    # Nothing left to retry for the owner; a second click starts nothing.
    assert client.post(f"{API}/retry-failed", headers=auth_headers(owner)).json()["count"] == 0

    everything = client.post(f"{API}/retry-failed", headers=auth_headers(admin)).json()
    assert {j["retry_of"] for j in everything["data"]} == {str(foreign.id), str(system.id)}
    other_project = client.post(
        f"{API}/retry-failed?project_id={uuid.uuid4()}", headers=auth_headers(owner)
    )
    assert other_project.status_code == 404
    too_many = client.post(f"{API}/retry-failed?limit=100000", headers=auth_headers(owner))
    assert too_many.status_code == 422


def test_maintenance_endpoints_are_for_superusers(
    client: TestClient, session: Session, redis_client: redis.Redis
) -> None:
    user = create_user(session)
    admin = create_user(session, superuser=True)
    for path in (f"{API}/maintenance/cleanup", f"{API}/maintenance/health-check"):
        forbidden = client.post(path, headers=auth_headers(user))
        assert forbidden.status_code == 403
        assert forbidden.json()["detail"] == "Superuser privileges required"
        started = client.post(path, headers=auth_headers(admin))
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["job_type"] == "maintenance"
        assert job["status"] == "queued"
        assert job["user_id"] == str(admin.id)
        # The same job again while it is active, not a second one.
        assert client.post(path, headers=auth_headers(admin)).json()["id"] == job["id"]
        assert client.get(f"{API}/{job['id']}", headers=auth_headers(user)).status_code == 404
        assert client.get(f"{API}/{job['id']}", headers=auth_headers(admin)).status_code == 200


def test_stats_report_queue_depth_and_oldest_message(
    client: TestClient, session: Session, redis_client: redis.Redis
) -> None:
    admin = create_user(session, superuser=True)
    client.post(f"{API}/maintenance/cleanup", headers=auth_headers(admin))
    client.post(f"{API}/maintenance/health-check", headers=auth_headers(admin))
    stats = client.get(f"{API}/stats", headers=auth_headers(admin))
    assert stats.status_code == 200, stats.text
    queues = {q["name"]: q for q in stats.json()["queues"]}
    assert set(queues) == {"default", "render", "low"}
    assert queues["default"]["depth"] == 2
    assert 0 <= queues["default"]["oldest_message_age_seconds"] < 30
    assert queues["render"] == {"name": "render", "depth": 0, "oldest_message_age_seconds": None}
    assert stats.json()["active"] == 2
    assert stats.json()["by_status"]["queued"] == 2


def test_stats_numbers_and_scope(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    for seconds in (1, 2, 3, 4, 10):
        insert_job(
            session,
            project=project,
            status=JobStatus.completed,
            run_time=timedelta(seconds=seconds),
        )
    insert_job(session, project=project, status=JobStatus.failed)
    insert_job(session, project=project, status=JobStatus.cancelled)
    insert_job(session, project=project, job_type="gsc_sync")
    # Outside the window, and another user's job: neither counted.
    insert_job(session, project=project, status=JobStatus.failed, age=timedelta(days=3))
    insert_job(session, project=create_project(session, owner=create_user(session)))

    stats = client.get(f"{API}/stats?window_hours=24", headers=auth_headers(owner)).json()
    assert stats["total"] == 8
    assert stats["by_status"] == {
        "queued": 1,
        "running": 0,
        "retrying": 0,
        "completed": 5,
        "failed": 1,
        "cancelled": 1,
    }
    assert stats["by_type"] == {
        "audit": {"completed": 5, "failed": 1, "cancelled": 1},
        "gsc_sync": {"queued": 1},
    }
    assert stats["success_rate"] == round(5 / 6, 4)
    # Percentiles from the rollups' histograms: within one bucket (19%) of the order statistic
    # of rank q * n (the 3rd of 5 run times for p50, the 5th for p95).
    assert stats["duration_seconds"]["p50"] == pytest.approx(3.0, rel=0.19)
    assert stats["duration_seconds"]["p95"] == pytest.approx(10.0, rel=0.19)
    assert stats["pickup_latency_seconds"]["p50"] == pytest.approx(0.01, rel=0.19)
    assert stats["active"] == 1
    assert (
        client.get(f"{API}/stats?window_hours=100", headers=auth_headers(owner)).json()["total"]
        == 9
    )


def test_job_lists_count_exactly_from_the_rollups(client: TestClient, session: Session) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    other = create_project(session, owner=owner, site_url="https://other.example")
    for age in range(7):
        status = JobStatus.failed if age % 3 == 0 else JobStatus.completed
        insert_job(session, project=project, age=timedelta(minutes=age), status=status)
    insert_job(session, project=other, job_type="maintenance")
    insert_job(session, project=create_project(session, owner=create_user(session)))
    headers = auth_headers(owner)

    def page(query: str, path: str = f"/project/{project.id}") -> dict[str, object]:
        response = client.get(f"{API}{path}?{query}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if path.startswith("/project/"):
            same = client.get(f"{API}?project_id={project.id}&{query}", headers=headers).json()
            assert same == body  # one implementation behind both paths
        return {k: v for k, v in body.items() if k != "data"} | {"rows": len(body["data"])}

    exact = {"has_more": True, "count_is_estimate": False}
    assert page("limit=2") == {"count": 7, **exact, "rows": 2}
    assert page("limit=1&status=failed") == {"count": 3, **exact, "rows": 1}
    assert page("limit=1", path="") == {"count": 8, **exact, "rows": 1}
    assert page("limit=1&job_type=maintenance&job_type=audit", path="") == {
        "count": 8,
        **exact,
        "rows": 1,
    }
    assert page("limit=1&job_type=maintenance", path="")["count"] == 1
    # The last page and past the end: exact from the page itself.
    last = {"count": 7, "has_more": False, "count_is_estimate": False}
    assert page("limit=5&offset=5") == {**last, "rows": 2}
    assert page("offset=50") == {**last, "rows": 0}


def test_other_lists_count_up_to_a_bound(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Counting stops COUNT_AHEAD rows past the page; 2 here instead of 1000 rows of set-up.
    monkeypatch.setattr(pagination, "COUNT_AHEAD", 2)
    owner = create_user(session)
    for i in range(7):
        create_project(session, owner=owner, site_url=f"https://site{i}.example")
    headers = auth_headers(owner)

    def page(query: str) -> dict[str, object]:
        body = client.get(f"/api/v1/projects?{query}", headers=headers).json()
        return {k: v for k, v in body.items() if k != "data"} | {"rows": len(body["data"])}

    # 2 + 2 ahead < 7: counting stopped at 4, a lower bound.
    assert page("limit=2") == {"count": 4, "has_more": True, "count_is_estimate": True, "rows": 2}
    assert page("limit=2&offset=1")["count"] == 5
    # Within reach of the end: exact.
    assert page("limit=3&offset=2") == {
        "count": 7,
        "has_more": True,
        "count_is_estimate": False,
        "rows": 3,
    }
    assert page("limit=5&offset=5") == {
        "count": 7,
        "has_more": False,
        "count_is_estimate": False,
        "rows": 2,
    }
    # The same bounds on every list.
    for path in (f"{API}?limit=501", "/api/v1/projects?limit=501", f"{API}?offset=10000001"):
        assert client.get(path, headers=headers).status_code == 422, path
    assert client.get(f"{API}?limit=500", headers=headers).status_code == 200
