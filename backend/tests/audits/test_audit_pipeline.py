"""A whole audit through the API: real worker processes for the default and render queues,
Debian's Chromium, a defect-rich site on loopback, PostgreSQL and Redis."""

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import settings
from tests.audits.defect_site import start_defect_site
from tests.builders import signup_and_login
from tests.fakes.site_server import SiteServer
from tests.workers import WorkerProcess, celery_worker

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
WORKER_ENV = {
    "BROWSER_EXECUTABLE_PATH": CHROMIUM,
    "CRAWL_ALLOW_PRIVATE_NETWORKS": "true",
    "CRAWL_TIMEOUT": "10",
    "MAX_RENDER_PAGES": "3",
    "RENDER_TIMEOUT": "20",
    "JOB_LEASE_SECONDS": "30",
}
EXPECTED_CODES = {
    "http_4xx",
    "http_5xx",
    "internal_link_to_4xx",
    "internal_link_to_5xx",
    "internal_link_to_redirect",
    "redirect_chain",
    "redirect_temporary",
    "redirect_loop",
    "title_missing",
    "title_duplicate",
    "duplicate_content",
    "noindex",
    "sitemap_noindex",
    "sitemap_non_200",
    "blocked_by_robots_linked",
    "orphan_page",
    "slow_response",
    "meta_refresh",
    "canonical_to_4xx",
    "url_uppercase",
    "url_underscores",
    "hreflang_missing_return",
    "hreflang_no_x_default",
    "image_missing_alt",
    "http_page",
    "rendered_only_content",
}


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[WorkerProcess, WorkerProcess]]:
    if not __import__("os").path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with (
        celery_worker(
            queues="default", concurrency=1, env=WORKER_ENV, include="app.audits.tasks"
        ) as default,
        celery_worker(
            queues="render", concurrency=1, env=WORKER_ENV, include="app.audits.tasks"
        ) as render,
    ):
        yield default, render


@pytest.fixture
def site() -> Iterator[SiteServer]:
    server = start_defect_site()
    yield server
    server.stop()


def _wait_for_job(
    client: TestClient, headers: dict[str, str], job_id: str
) -> tuple[dict[str, Any], list[str]]:
    messages: list[str] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["progress_message"] and job["progress_message"] not in messages:
            messages.append(job["progress_message"])
        if job["status"] in ("completed", "failed", "cancelled"):
            return job, messages
        time.sleep(0.2)
    raise AssertionError(f"audit job still {job['status']} after 180 s: {job}")


def test_full_audit_through_the_api(
    client: TestClient,
    workers: tuple[WorkerProcess, WorkerProcess],
    site: SiteServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The render budget is frozen into the audit's config when the API starts it.
    monkeypatch.setattr(settings, "MAX_RENDER_PAGES", 3)
    headers = signup_and_login(client, "auditor@example.com")
    project = client.post(
        "/api/v1/projects", headers=headers, json={"name": "Defects", "site_url": site.url + "/"}
    ).json()

    started = client.post(f"/api/v1/projects/{project['id']}/audits", headers=headers)
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["job_type"], job["stage"]) == ("audit", "crawl")
    assert job["status"] in ("queued", "running")
    again = client.post(f"/api/v1/projects/{project['id']}/audits", headers=headers)
    if again.json()["status"] in ("queued", "running"):  # still active: the same job back
        assert again.status_code == 202
        assert again.json()["id"] == job["id"]
        assert again.headers["X-Job-Existing"] == "true"

    done, messages = _wait_for_job(client, headers, job["id"])
    logs = workers[0].log()[-3000:] + workers[1].log()[-3000:]
    assert done["status"] == "completed", (
        done["stage"],
        done["error_category"],
        done["error_message"],
        logs,
    )
    assert done["progress_pct"] == 100
    assert done["stage"] == "analyze"
    # Polling sees snapshots: a short stage can pass between two polls unseen, but what
    # is seen never goes back to an earlier stage.
    stage_order = ("Crawl", "Render", "Check")
    seen = [
        next(i for i, prefix in enumerate(stage_order) if message.startswith(prefix))
        for message in messages
        if message.startswith(stage_order)
    ]
    assert seen == sorted(seen), messages
    assert messages[-1] == done["progress_message"]
    result = done["result_json"]
    audit_id = result["audit_id"]
    assert result["render_status"] == "rendered"

    # The summary
    summary = client.get(f"/api/v1/audits/{audit_id}", headers=headers).json()
    audit = summary["audit"]
    assert (audit["status"], audit["render_status"], audit["job_id"]) == (
        "completed",
        "rendered",
        job["id"],
    )
    assert 0 < audit["score"] < 100
    assert summary["pages_by_status"]["4xx"] >= 1
    assert summary["pages_by_status"]["5xx"] == 1
    assert summary["pages_by_status"]["blocked"] == 1
    assert summary["pages_total"] == result["pages"] >= 20
    issues_total = sum(summary["issues_by_severity"].values())
    assert done["progress_message"] == f"Checked {result['pages']} pages: {issues_total} issues"
    assert summary["issues_by_severity"]["error"] > 0
    assert audit["stats_json"]["crawl"]["robots_txt_found"] is True
    assert audit["stats_json"]["render"]["pages_rendered"] == 3
    found = set(summary["issues_by_code"])
    assert found >= EXPECTED_CODES, EXPECTED_CODES - found

    # Issues grouped by check, with how to fix them and the affected URLs
    groups = client.get(
        f"/api/v1/audits/{audit_id}/issues", headers=headers, params={"code": "http_4xx"}
    ).json()
    assert groups["count"] == 1
    group = groups["data"][0]
    assert group["how_to_fix"]
    assert group["severity"] == "error"
    assert f"{site.url}/gone" in {entry["url"] for entry in group["urls"]}

    # Pages: filters by status, issue and URL text
    def pages(**params: Any) -> list[str]:
        response = client.get(f"/api/v1/audits/{audit_id}/pages", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [page["url"] for page in response.json()["data"]]

    assert f"{site.url}/gone" in pages(status="4xx")
    assert pages(status="500") == [f"{site.url}/error"]
    assert pages(issue_code="title_missing") == [f"{site.url}/no-title"]
    assert sorted(pages(url_contains="dup-")) == [f"{site.url}/dup-1", f"{site.url}/dup-2"]

    # What only rendering revealed
    app_page = client.get(
        f"/api/v1/audits/{audit_id}/pages", headers=headers, params={"url_contains": "/app"}
    ).json()["data"][0]
    assert set(app_page["rendered"]["links_only_rendered"]) == {
        f"{site.url}/js-only-1",
        f"{site.url}/js-only-2",
    }
    assert "rendered_only_content" in app_page["issue_codes"]

    # CSV exports
    pages_csv = client.get(f"/api/v1/audits/{audit_id}/pages.csv", headers=headers)
    assert pages_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(pages_csv.text)))
    # Every URL of the audit: its pages and, counted apart, its resources (/logo.png).
    assert summary["resources_total"] == 1
    assert len(rows) == summary["pages_total"] + summary["resources_total"] + 1
    issues_csv = client.get(f"/api/v1/audits/{audit_id}/issues.csv", headers=headers)
    assert len(issues_csv.text.strip().splitlines()) == sum(summary["issues_by_code"].values()) + 1

    # Another user sees nothing
    stranger = signup_and_login(client, "stranger@example.com")
    assert client.get(f"/api/v1/audits/{audit_id}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/audits/{audit_id}/pages.csv", headers=stranger).status_code == 404
