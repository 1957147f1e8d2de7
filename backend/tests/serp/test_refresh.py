"""A refresh run in-process against the fake providers, with the real database and Redis:
what gets recorded for each kind of outcome, the cap, halts, and overlapping calls."""

import datetime as dt
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.config import settings
from app.core.db import utcnow
from app.jobs.errors import JobCancelled, PermanentJobError, TransientJobError
from app.maintenance.service import cleanup_old_data
from app.projects.models import Project
from app.serp import refresh, service
from app.serp.budget import DailyCap
from app.serp.client import DataForSeoClient, SerpApiClient
from app.serp.models import CheckStatus, SerpKeyword, SerpSnapshot
from tests.builders import create_project, create_user
from tests.fakes.dataforseo import FakeDataForSeo
from tests.fakes.provider_server import Reply, filler_urls
from tests.fakes.serpapi import FakeSerpApi
from tests.serp.conftest import add_keywords, connect_serpapi, gate


@pytest.fixture
def project(session: Session, serpapi: FakeSerpApi, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setattr(settings, "SERPAPI_BASE_URL", serpapi.url)
    monkeypatch.setattr(settings, "SERP_CHECK_DEPTH", 30)
    created = create_project(session, owner=create_user(session), site_url="https://example.com")
    connect_serpapi(session, created, serpapi.api_key)
    return created


def _run(
    session: Session, project: Project, *, since: dt.datetime | None = None, **options: Any
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    seen: list[tuple[int, int]] = []
    config = {"since": (since or utcnow()).isoformat(), **options.pop("config", {})}
    result = refresh.run_refresh(
        session=session,
        project_id=project.id,
        config=config,
        progress=lambda done, total, _message: seen.append((done, total)),
        checkpoint=lambda: None,
        **options,
    )
    return result, seen


def _keywords(session: Session, project: Project) -> dict[str, SerpKeyword]:
    session.expire_all()
    rows = session.exec(select(SerpKeyword).where(col(SerpKeyword.project_id) == project.id))
    return {k.text: k for k in rows}


def _ranked(url: str, at: int, total: int = 30) -> list[str]:
    urls = filler_urls("x", total)
    urls[at - 1] = url
    return urls


def test_each_outcome_is_recorded_with_its_own_status(
    session: Session, project: Project, serpapi: FakeSerpApi
) -> None:
    add_keywords(session, project, ["ranked", "absent", "nothing"])
    serpapi.results["ranked"] = _ranked("https://www.example.com/shoes", 14)
    serpapi.results["nothing"] = []
    result, progress = _run(session, project)
    assert (result["checked"], result["ranked"], result["not_in_top_n"], result["failed"]) == (
        3,
        1,
        2,
        0,
    )
    assert result["requests"] == 2 + 3 + 1  # stops at page 2; three pages; no results
    assert result["left"] == 0
    assert result["stopped"] is None
    assert progress[0] == (0, 3)
    assert progress[-1] == (3, 3)
    rows = _keywords(session, project)
    assert (rows["ranked"].status, rows["ranked"].position, rows["ranked"].url) == (
        CheckStatus.ranked,
        14,
        "https://www.example.com/shoes",
    )
    assert rows["ranked"].best_position == 14
    assert (rows["absent"].status, rows["absent"].position) == (CheckStatus.not_in_top_n, None)
    assert rows["nothing"].status == CheckStatus.not_in_top_n
    snapshot = session.exec(
        select(SerpSnapshot).where(col(SerpSnapshot.keyword_id) == rows["ranked"].id)
    ).one()
    assert (snapshot.position, snapshot.depth, snapshot.provider) == (14, 30, "serpapi")
    assert [r["position"] for r in snapshot.top_results] == list(range(1, 11))


def test_a_failed_check_records_no_position_and_keeps_the_days_good_snapshot(
    session: Session, project: Project, serpapi: FakeSerpApi
) -> None:
    [keyword] = add_keywords(session, project, ["shoes"])
    serpapi.results["shoes"] = _ranked("https://example.com/", 4)
    _run(session, project)
    serpapi.fail("/search.json", Reply(400, {"error": "Unsupported `gl` parameter."}))
    result, _ = _run(session, project, since=utcnow() + dt.timedelta(seconds=1))
    assert (result["checked"], result["failed"]) == (1, 1)
    row = _keywords(session, project)["shoes"]
    assert (row.status, row.position, row.best_position) == (CheckStatus.failed, None, 4)
    assert "Unsupported" in (row.error or "")
    snapshot = session.exec(
        select(SerpSnapshot).where(col(SerpSnapshot.keyword_id) == keyword.id)
    ).one()
    assert (snapshot.status, snapshot.position) == (CheckStatus.ranked, 4)


def test_changes_skip_failed_days(session: Session, project: Project) -> None:
    [keyword] = add_keywords(session, project, ["shoes"])
    today = utcnow().date()
    history = {0: 3, 1: None, 2: 5, 7: 9, 30: 20}  # days ago -> position (None: failed)
    for days_ago, position in history.items():
        session.add(
            SerpSnapshot(
                keyword_id=keyword.id,
                project_id=project.id,
                checked_on=today - dt.timedelta(days=days_ago),
                checked_at=utcnow(),
                status=CheckStatus.failed if position is None else CheckStatus.ranked,
                position=position,
                depth=100,
                provider="serpapi",
            )
        )
    session.commit()
    [row] = service.list_keywords(
        session=session,
        project=project,
        filters=service.KeywordFilters(),
        sort="created_at",
        descending=False,
        page=service.PageRequest(),
    ).rows
    # 1 day back is a failed day: the change is against the day before it.
    assert (row.change_1d, row.change_7d, row.change_30d) == (2, 6, 17)


def test_the_cap_stops_the_refresh_and_the_rest_goes_first_next_time(
    session: Session, project: Project, serpapi: FakeSerpApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"kw {n}" for n in range(6)]
    add_keywords(session, project, texts)
    for text in texts:
        serpapi.results[text] = _ranked("https://example.com/", 1)
    monkeypatch.setattr(settings, "SERP_REFRESH_DAILY_CAP", 4)
    result, _ = _run(session, project, concurrency=2)
    assert (result["checked"], result["left"], result["requests"]) == (4, 2, 4)
    assert "daily cap of 4" in result["stopped"]
    assert "2 keywords left" in result["message"]
    assert len(serpapi.calls("/search.json")) == 4
    left = {t for t, k in _keywords(session, project).items() if k.checked_at is None}
    assert len(left) == 2
    due = service.due_keywords(session=session, project_id=project.id, since=utcnow())
    assert {k.text for k in due[:2]} == left  # never checked: first
    assert DailyCap().used() == 4


def test_out_of_searches_halts_and_says_so(
    session: Session, project: Project, serpapi: FakeSerpApi
) -> None:
    add_keywords(session, project, ["a", "b", "c"])
    serpapi.searches_left = 3  # one keyword's three pages
    result, _ = _run(session, project, concurrency=1)
    assert result["checked"] == 1
    assert result["left"] == 2
    assert "run out of searches" in result["stopped"]


def test_a_refused_key_fails_the_refresh(
    session: Session, project: Project, serpapi: FakeSerpApi
) -> None:
    add_keywords(session, project, ["a", "b"])
    serpapi.api_keys.clear()
    try:
        with pytest.raises(PermanentJobError, match="refused the API key"):
            _run(session, project)
    finally:
        serpapi.api_keys.add(serpapi.api_key)
    assert all(k.status == CheckStatus.pending for k in _keywords(session, project).values())


def test_a_provider_that_stays_down_retries_the_job_later(
    session: Session, project: Project, serpapi: FakeSerpApi, http: httpx.Client
) -> None:
    add_keywords(session, project, [f"kw {n}" for n in range(12)])
    serpapi.fail("/search.json", Reply(503, {"error": "down"}), times=100)
    client = SerpApiClient(
        api_key=serpapi.api_key,
        http=http,
        gate=gate(),
        base_url=serpapi.url,
        max_retries=1,
        retry_base=0.001,
    )
    with pytest.raises(TransientJobError, match="10 checks in a row"):
        _run(session, project, provider=client, concurrency=1)
    failed = [k for k in _keywords(session, project).values() if k.status == CheckStatus.failed]
    assert len(failed) == 10


def test_dataforseo_invalid_field_fails_that_keyword_only(
    session: Session, dataforseo: FakeDataForSeo, http: httpx.Client
) -> None:
    project = create_project(session, owner=create_user(session), site_url="https://example.com")
    add_keywords(session, project, ["good"])
    add_keywords(session, project, ["zulu"], language="zu")
    dataforseo.items["good"] = [
        ("featured_snippet", "https://example.com/"),
        ("organic", "https://example.com/a"),
    ]
    client = DataForSeoClient(
        login=dataforseo.login,
        password=dataforseo.password,
        http=http,
        gate=gate(),
        base_url=dataforseo.url,
    )
    result, _ = _run(session, project, provider=client)
    assert (result["ranked"], result["failed"]) == (1, 1)
    rows = _keywords(session, project)
    assert rows["good"].position == 1
    assert "40501" in (rows["zulu"].error or "")


@pytest.mark.serial
def test_checks_overlap_within_the_concurrency(
    session: Session, project: Project, serpapi: FakeSerpApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SERPAPI_REQUESTS_PER_MINUTE", 6000)
    texts = [f"kw {n}" for n in range(16)]
    add_keywords(session, project, texts)
    for text in texts:
        serpapi.results[text] = _ranked("https://example.com/", 1)
    serpapi.delay = 0.2
    started = time.monotonic()
    result, _ = _run(session, project, concurrency=8)
    elapsed = time.monotonic() - started
    assert result["checked"] == 16
    assert 4 <= serpapi.most_in_flight <= 8
    assert elapsed < 16 * 0.2 / 2  # one at a time would take 3.2 s


def test_the_shared_rate_limit_bounds_the_overlap(
    session: Session, project: Project, serpapi: FakeSerpApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SERPAPI_REQUESTS_PER_MINUTE", 600)  # 10 a second, burst 10
    texts = [f"kw {n}" for n in range(30)]
    add_keywords(session, project, texts)
    for text in texts:
        serpapi.results[text] = _ranked("https://example.com/", 1)
    _run(session, project, concurrency=16)
    times = sorted(call.at for call in serpapi.calls("/search.json"))
    assert len(times) == 30
    # The burst, then about ten a second: 30 calls take at least ~2 s, however many threads.
    assert times[-1] - times[0] >= 1.8


def test_one_keyword_refresh_checks_only_it(session: Session, project: Project) -> None:
    first, _second = add_keywords(session, project, ["one", "two"])
    result, _ = _run(session, project, config={"keyword_ids": [str(first.id)]})
    assert result["checked"] == 1
    assert _keywords(session, project)["two"].status == CheckStatus.pending


def test_retention_removes_old_snapshots(session: Session, project: Project) -> None:
    [keyword] = add_keywords(session, project, ["shoes"])
    today = utcnow().date()
    for days_ago in (0, 89, 91, 200):
        session.add(
            SerpSnapshot(
                keyword_id=keyword.id,
                project_id=project.id,
                checked_on=today - dt.timedelta(days=days_ago),
                checked_at=utcnow(),
                status=CheckStatus.not_in_top_n,
                depth=100,
                provider="serpapi",
            )
        )
    session.commit()
    # The platform's daily clean-up runs the rule the domain declares, batch after batch.
    deleted = cleanup_old_data(session=session, batch=1)
    assert deleted["serp_snapshots"] == 2
    left = session.execute(sa.select(SerpSnapshot.checked_on)).scalars().all()  # type: ignore[call-overload]
    assert sorted(today - d for d in left) == [dt.timedelta(0), dt.timedelta(days=89)]


def test_a_cancel_sends_nothing_more_and_keeps_what_was_in_flight(
    session: Session, project: Project, serpapi: FakeSerpApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SERPAPI_REQUESTS_PER_MINUTE", 6000)
    texts = [f"kw {n}" for n in range(20)]
    add_keywords(session, project, texts)
    for text in texts:
        serpapi.results[text] = _ranked("https://example.com/", 1)
    serpapi.delay = 0.1
    checkpoints = 0

    def checkpoint() -> None:
        nonlocal checkpoints
        checkpoints += 1
        if checkpoints == 2:
            raise JobCancelled("cancelled")

    with pytest.raises(JobCancelled):
        refresh.run_refresh(
            session=session,
            project_id=project.id,
            config={"since": utcnow().isoformat()},
            progress=lambda *_: None,
            checkpoint=checkpoint,
            concurrency=4,
        )
    sent = len(serpapi.calls("/search.json"))
    assert sent < 20
    checked = [k for k in _keywords(session, project).values() if k.checked_at is not None]
    assert len(checked) == sent  # every call paid for is recorded, none after the cancel


def test_the_keyword_cap_holds_under_concurrent_adds(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.db import engine
    from app.serp.intake import Candidate

    monkeypatch.setattr(settings, "MAX_KEYWORDS_PER_PROJECT", 5)
    barrier = threading.Barrier(3)
    reports: list[int] = []

    def add(prefix: str) -> None:
        candidates = [
            Candidate(
                n, f"{prefix} {n}", {"text": f"{prefix} {n}", "country": "US", "language": "en"}
            )
            for n in range(1, 4)
        ]
        with Session(engine) as own:
            barrier.wait(timeout=10)
            reports.append(
                service.add_keywords(session=own, project=project, candidates=candidates).added
            )

    threads = [threading.Thread(target=add, args=(p,)) for p in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(reports) == [0, 2, 3]  # nine asked for, five fit, whoever came first
