"""The sync against the local Search Console: encodings, paging, fresh and final data,
totals, idempotence, and Google's failures, through the production client and storage."""

import datetime as dt
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.connections.google import GoogleApiError
from app.core.config import settings
from app.core.db import session_scope
from app.gsc import service
from app.jobs.errors import JobCancelled, PermanentJobError, TransientJobError
from tests.fakes.google import FakeGoogle, Reply, google_error
from tests.fakes.gsc import GscState, site_from_path
from tests.gsc.conftest import (
    DOMAIN_PROPERTY,
    PREFIX_PROPERTY,
    TODAY,
    connect,
    expected_rows,
    stored_rows,
)

QUERY = r"/searchAnalytics/query"
YESTERDAY = TODAY - dt.timedelta(days=1)


def bodies(fake: FakeGoogle) -> list[dict[str, object]]:
    return [call.json() for call in fake.calls(QUERY)]


def test_both_property_kinds_are_fully_percent_encoded(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    for site_url, encoded in (
        (DOMAIN_PROPERTY, "/webmasters/v3/sites/sc-domain%3Aexample.com/searchAnalytics/query"),
        (
            PREFIX_PROPERTY,
            "/webmasters/v3/sites/https%3A%2F%2Fwww.example.com%2F/searchAnalytics/query",
        ),
    ):
        fake.requests.clear()
        connected = connect(session, fake, gsc, property=site_url)
        result = connected.sync()
        assert result["rows"] == 28 * gsc.rows_per_day  # a first sync takes 28 days
        paths = {call.path for call in fake.calls(QUERY)}
        assert paths == {encoded}
        assert {site_from_path(p) for p in paths} == {site_url}
    first = bodies(fake)[0]
    assert first["dimensions"] == ["date", "query", "page", "country", "device"]
    assert (first["type"], first["dataState"], first["rowLimit"]) == ("web", "all", 25_000)
    assert first["startDate"] == first["endDate"] == YESTERDAY.isoformat()


def test_a_day_is_paged_by_25000_rows_until_a_page_has_no_rows(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    gsc.set_rows(DOMAIN_PROPERTY, YESTERDAY, 60_000)
    result = connected.backfill(
        {"days": 1, "end": YESTERDAY.isoformat(), "since": dt.datetime.now(dt.UTC).isoformat()}
    )
    assert result["rows"] == result["inserted"] == 60_000
    rows_calls = [b for b in bodies(fake) if "query" in b["dimensions"]]  # type: ignore[operator]
    assert [b["startRow"] for b in rows_calls] == [0, 25_000, 50_000, 75_000]
    assert {b["rowLimit"] for b in rows_calls} == {25_000}
    assert len(stored_rows(DOMAIN_PROPERTY, YESTERDAY)) == 60_000


def test_a_key_sent_twice_on_a_first_write_refetches_the_day_and_merges_it(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    # A day with nothing stored is copied straight into gsc_rows; a key already there (here
    # sent on two pages) loses that transaction, and the day is fetched and merged again.
    connected = connect(session, fake, gsc)
    day = YESTERDAY.isoformat()

    def row(query: str, clicks: int) -> dict[str, object]:
        keys = [day, query, "https://example.com/a", "usa", "MOBILE"]
        return {"keys": keys, "clicks": clicks, "impressions": 10, "ctr": 0.1, "position": 2.0}

    fake.fail(QUERY, Reply(200, {"rows": [row("twice", 1), row("once", 2)]}))
    fake.fail(QUERY, Reply(200, {"rows": [row("twice", 3)]}))
    result = connected.backfill(
        {"days": 1, "end": day, "since": dt.datetime.now(dt.UTC).isoformat()}
    )
    rows_calls = [b for b in bodies(fake) if "query" in b["dimensions"]]  # type: ignore[operator]
    starts = [b["startRow"] for b in rows_calls]
    assert starts[:2] == [0, 25_000]
    assert starts.count(0) == 2  # the day was fetched again from its first page
    assert stored_rows(DOMAIN_PROPERTY, YESTERDAY) == expected_rows(gsc, DOMAIN_PROPERTY, YESTERDAY)
    assert result["rows"] == result["inserted"] == gsc.rows_per_day


def test_an_empty_day_is_recorded_with_no_rows(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    gsc.set_rows(DOMAIN_PROPERTY, YESTERDAY, 0)
    result = connected.backfill(
        {"days": 1, "end": YESTERDAY.isoformat(), "since": dt.datetime.now(dt.UTC).isoformat()}
    )
    assert (result["rows"], result["days"]) == (0, 1)
    assert len(fake.calls(QUERY)) == 2  # one empty page of rows, one of totals
    with session_scope() as s:
        count = s.execute(sa.text("SELECT row_count FROM gsc_days")).scalar_one()
    assert count == 0


def test_fresh_days_are_provisional_and_replaced_when_final(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    gsc.first_incomplete = YESTERDAY - dt.timedelta(days=1)
    gsc.metadata_key = "first_incomplete_date"  # both spellings are understood
    first = connected.sync()
    assert first["provisional_days"] == [
        (YESTERDAY - dt.timedelta(days=1)).isoformat(),
        YESTERDAY.isoformat(),
    ]
    fresh = stored_rows(DOMAIN_PROPERTY, YESTERDAY)
    assert fresh == expected_rows(gsc, DOMAIN_PROPERTY, YESTERDAY)
    assert any(row[1].startswith("fresh ") for row in fresh)

    # A day later Google calls them final: the next sync replaces them, row for row.
    gsc.first_incomplete = None
    gsc.metadata_key = "firstIncompleteDate"
    fake.requests.clear()
    second = connected.sync()
    assert second["provisional_days"] == []
    assert second["deleted"] == 2  # each fresh-only row is gone
    final = stored_rows(DOMAIN_PROPERTY, YESTERDAY)
    assert final == expected_rows(gsc, DOMAIN_PROPERTY, YESTERDAY) != fresh
    synced_days = {b["startDate"] for b in bodies(fake)}
    assert synced_days == {(YESTERDAY - dt.timedelta(days=n)).isoformat() for n in range(3)}
    with session_scope() as s:
        assert s.execute(sa.text("SELECT count(*) FROM gsc_days WHERE provisional")).scalar() == 0


def test_totals_are_stored_beside_the_rows_and_count_anonymised_traffic(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    connected.sync()
    with session_scope() as s:
        metrics = service.metrics(
            session=s, project=connected.project, start=YESTERDAY, end=YESTERDAY
        )
    totals = gsc.totals(DOMAIN_PROPERTY, YESTERDAY)
    assert metrics.totals.clicks == sum(t["clicks"] for t in totals)
    assert metrics.totals.impressions == sum(t["impressions"] for t in totals)
    row_clicks = sum(r["clicks"] for r in gsc.rows(DOMAIN_PROPERTY, YESTERDAY))
    assert metrics.totals.clicks > row_clicks  # the chart never understates clicks


def test_a_rerun_leaves_the_same_rows_and_writes_nothing(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    connected.sync()
    before = stored_rows(DOMAIN_PROPERTY)
    again = connected.sync()
    assert (again["inserted"], again["updated"], again["deleted"]) == (0, 0, 0)
    assert stored_rows(DOMAIN_PROPERTY) == before
    assert len(before) == 28 * gsc.rows_per_day


def test_pages_sent_again_unchanged_are_skipped_and_rows_gone_are_still_deleted(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    gsc.set_rows(DOMAIN_PROPERTY, YESTERDAY, 60_000)  # pages of 25,000, 25,000 and 10,000

    def backfill() -> dict[str, Any]:
        since = dt.datetime.now(dt.UTC).isoformat()
        return connected.backfill({"days": 1, "end": YESTERDAY.isoformat(), "since": since})

    first = backfill()
    assert (first["inserted"], first["unchanged_pages"]) == (60_000, 0)
    again = backfill()
    assert (again["rows"], again["unchanged_pages"]) == (60_000, 3)
    assert (again["inserted"], again["updated"], again["deleted"]) == (0, 0, 0)
    assert stored_rows(DOMAIN_PROPERTY, YESTERDAY) == expected_rows(gsc, DOMAIN_PROPERTY, YESTERDAY)

    # The day loses its last 5,000 rows: its first two pages come unchanged, the third shorter.
    # Which stored rows went away only the keys of every page tell, so the day is fetched
    # again and every page written.
    gsc.set_rows(DOMAIN_PROPERTY, YESTERDAY, 55_000)
    fake.requests.clear()
    shrunk = backfill()
    assert (shrunk["rows"], shrunk["deleted"], shrunk["unchanged_pages"]) == (55_000, 5_000, 0)
    assert stored_rows(DOMAIN_PROPERTY, YESTERDAY) == expected_rows(gsc, DOMAIN_PROPERTY, YESTERDAY)
    rows_calls = [b for b in bodies(fake) if "query" in b["dimensions"]]  # type: ignore[operator]
    assert [b["startRow"] for b in rows_calls].count(0) == 2
    # And the day as written now is skipped whole the next time.
    assert backfill()["unchanged_pages"] == 3


def test_a_deleted_projects_synced_data_is_removed_by_the_clean_up(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    # Rows, per-day sums and dictionaries have no foreign key to the property: the clean-up
    # removes a deleted project's, and only its.
    from app.maintenance.service import cleanup_old_data
    from app.projects.models import Project

    kept, gone = connect(session, fake, gsc), connect(session, fake, gsc)
    gsc.rows_per_day = 60
    kept.sync()
    gone.sync()
    tables = ("gsc_rows", "gsc_query_days", "gsc_page_days", "gsc_queries", "gsc_pages")
    with session_scope() as s:
        sites = [
            s.execute(
                sa.text("SELECT id FROM gsc_sites WHERE project_id = :p"), {"p": c.project.id}
            ).scalar_one()
            for c in (kept, gone)
        ]

    def counts(site: int) -> dict[str, int]:
        with session_scope() as s:
            return {
                table: s.execute(
                    sa.text(f"SELECT count(*) FROM {table} WHERE site_id = :s"), {"s": site}
                ).scalar_one()
                for table in tables
            }

    before = counts(sites[0])
    assert all(before.values())
    assert counts(sites[1]) == before
    with session_scope() as s:
        s.delete(s.get(Project, gone.project.id))
        s.commit()
    with session_scope() as s:
        deleted = cleanup_old_data(session=s, batch=50)  # several batches, across the tables
    assert deleted["gsc_orphan_rows"] == sum(before.values())
    assert counts(sites[1]) == dict.fromkeys(tables, 0)
    assert counts(sites[0]) == before


def test_no_permission_fails_at_once_naming_the_account_to_add(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc, grant=False)
    with pytest.raises(GoogleApiError) as caught:
        connected.sync()
    assert caught.value.category == "permission_denied"
    assert connected.account in str(caught.value)
    assert f"add {connected.account} as a user of the property" in str(caught.value)
    assert DOMAIN_PROPERTY in str(caught.value)
    assert len(fake.calls(QUERY)) == 1  # not retried


def test_401_fails_as_auth_failed_after_one_fresh_token(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    unauthenticated = Reply(
        401, google_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
    )
    fake.fail(QUERY, unauthenticated, times=2)
    with pytest.raises(PermanentJobError) as caught:
        connected.sync()
    assert caught.value.category == "auth_failed"
    assert "reconnect" in str(caught.value)


def test_invalid_grant_at_the_token_endpoint_fails_at_once(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    fake.revoke(connected.credential)
    with pytest.raises(PermanentJobError) as caught:
        connected.sync()
    assert caught.value.category == "auth_failed"
    assert "invalid_grant" in str(caught.value)
    assert "reconnect the account" in str(caught.value)
    assert fake.calls(QUERY) == []


def test_quota_errors_are_retried_honouring_retry_after(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    fake.fail(
        QUERY,
        Reply(
            429,
            google_error(429, "Quota exceeded", "RESOURCE_EXHAUSTED", reason="rateLimitExceeded"),
            headers={"Retry-After": "1"},
        ),
    )
    fake.fail(
        QUERY,
        Reply(
            403,
            google_error(
                403,
                "Quota exceeded",
                "PERMISSION_DENIED",
                reason="quotaExceeded",
                domain="usageLimits",
            ),
            headers={"Retry-After": "1"},
        ),
    )
    began = time.monotonic()
    result = connected.sync()
    assert time.monotonic() - began >= 2  # both Retry-After waits were honoured
    assert result["retries"] == 2
    assert result["rows"] == 28 * gsc.rows_per_day


def test_500_is_retried_a_bounded_number_of_times(
    session: Session, fake: FakeGoogle, gsc: GscState, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected = connect(session, fake, gsc)
    monkeypatch.setattr(settings, "PROVIDER_MAX_RETRIES", 2)
    monkeypatch.setattr(settings, "PROVIDER_RETRY_MAX_SECONDS", 0.05)  # short backoffs
    error = Reply(500, google_error(500, "Internal error encountered.", "INTERNAL"))
    fake.fail(QUERY, error, times=2)
    assert connected.sync()["retries"] == 2
    fake.fail(QUERY, error, times=3)
    with pytest.raises(TransientJobError, match="after 3 tries"):
        connected.sync()


def test_malformed_json_is_a_provider_error_retried_later(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    fake.fail(QUERY, Reply(200, b'{"rows": [{"keys": ["2026-'))
    with pytest.raises(TransientJobError) as caught:
        connected.sync()
    assert caught.value.category == "provider_error"
    fake.fail(QUERY, Reply(200, {"rows": [{"keys": ["2026-11-29"], "clicks": 1}]}))
    with pytest.raises(TransientJobError, match="malformed row"):
        connected.sync()
    with session_scope() as s:  # nothing of the failed day was kept
        assert s.execute(sa.text("SELECT count(*) FROM gsc_days")).scalar() == 0


def test_timeouts_are_bounded(
    session: Session, fake: FakeGoogle, gsc: GscState, monkeypatch: pytest.MonkeyPatch
) -> None:
    connected = connect(session, fake, gsc)
    monkeypatch.setattr(settings, "PROVIDER_HTTP_TIMEOUT", 0.2)
    monkeypatch.setattr(settings, "PROVIDER_MAX_RETRIES", 1)
    monkeypatch.setattr(settings, "PROVIDER_RETRY_MAX_SECONDS", 0.05)
    fake.fail(QUERY, Reply(200, {}, delay=1.0), times=2)
    began = time.monotonic()
    with pytest.raises(TransientJobError) as caught:
        connected.sync()
    assert time.monotonic() - began < 3
    assert caught.value.category == "network"


def _backfill_config(days: int) -> dict[str, object]:
    return {
        "days": days,
        "end": YESTERDAY.isoformat(),
        "since": dt.datetime.now(dt.UTC).isoformat(),
    }


def test_a_backfill_goes_newest_first_and_resumes_after_a_failure(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    config = _backfill_config(6)
    # The third day's first call fails for good: days 1-2 are kept.
    third = (YESTERDAY - dt.timedelta(days=2)).isoformat()
    original = gsc.query

    def failing(call, match):  # type: ignore[no-untyped-def]
        if call.json()["startDate"] == third and not failing.done:  # type: ignore[attr-defined]
            failing.done = True  # type: ignore[attr-defined]
            return Reply(400, google_error(400, "Bad request", "INVALID_ARGUMENT"))
        return original(call, match)

    failing.done = False  # type: ignore[attr-defined]
    fake.routes[-1] = (fake.routes[-1][0], fake.routes[-1][1], failing)
    with pytest.raises(PermanentJobError):
        connected.backfill(config)
    assert [p[:2] for p in connected.progress] == [(1, 6), (2, 6)]
    assert "day 2 of 6" in connected.progress[-1][2]

    fake.requests.clear()
    connected.progress.clear()
    result = connected.backfill(config)
    assert (result["days"], result["skipped_days"]) == (4, 2)
    fetched = [b["startDate"] for b in bodies(fake) if "query" in b["dimensions"]]  # type: ignore[operator]
    expected = [(YESTERDAY - dt.timedelta(days=n)).isoformat() for n in range(2, 6)]
    assert list(dict.fromkeys(fetched)) == expected  # newest first, the finished days skipped
    assert [p[:2] for p in connected.progress] == [(n, 6) for n in range(1, 7)]
    assert len(stored_rows(DOMAIN_PROPERTY)) == 6 * gsc.rows_per_day


def test_a_cancelled_backfill_resumes_from_its_last_finished_day(
    session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    config = _backfill_config(5)
    checks = {"n": 0}

    def checkpoint() -> None:
        checks["n"] += 1
        if len(connected.progress) >= 3:
            raise JobCancelled("cancelled")

    with pytest.raises(JobCancelled):
        connected.backfill(config, checkpoint=checkpoint)
    assert len(connected.progress) == 3
    result = connected.backfill(config)
    assert (result["days"], result["skipped_days"]) == (2, 3)
    assert len(stored_rows(DOMAIN_PROPERTY)) == 5 * gsc.rows_per_day
