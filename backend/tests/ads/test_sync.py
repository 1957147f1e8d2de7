"""Syncing an account into the store, in process: the first sync's backfill, the daily
re-sync of the last days, idempotent re-runs, money and currency, and the reads."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.ads import money, service
from app.ads.domain import ADS_PROVIDER
from app.ads.models import AdsAccount, AdsCampaign, AdsCampaignDay
from app.connections import service as connections_service
from app.core.config import settings
from app.jobs.errors import PermanentJobError, TransientJobError
from app.projects.models import Project
from tests.ads.conftest import CUSTOMER, TEST_ONLY_TOKEN, TODAY, connect, sync
from tests.fakes.google import FakeGoogle
from tests.fakes.google_ads import AdsState


def _stored(session: Session, project: Project) -> dict[tuple[int, date], AdsCampaignDay]:
    session.expire_all()
    rows = session.exec(
        select(AdsCampaignDay).where(col(AdsCampaignDay.project_id) == project.id)
    ).all()
    return {(row.campaign_id, row.date): row for row in rows}


def _as_expected(row: AdsCampaignDay) -> dict[str, float]:
    return {
        "impressions": row.impressions,
        "clicks": row.clicks,
        "cost_micros": row.cost_micros,
        "conversions": row.conversions,
        "conversions_value": row.conversions_value,
    }


def test_the_first_sync_backfills_the_first_sync_days(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    connect(session, project, credential)
    result, reporter = sync(session, project)

    start = TODAY - timedelta(days=settings.ADS_FIRST_SYNC_DAYS - 1)
    assert (result["start"], result["end"]) == (start.isoformat(), TODAY.isoformat())
    assert result["first_sync"] is True
    assert result["days"] == settings.ADS_FIRST_SYNC_DAYS == 90
    expected = ads.expected_rows(CUSTOMER, start, TODAY)
    assert result["rows"] == result["inserted"] == len(expected) == 3 * 90
    stored = _stored(session, project)
    assert {key: _as_expected(row) for key, row in stored.items()} == expected
    # One call per chunk of days, each a BETWEEN of its own, covering the range once.
    queries = ads.queries
    assert len(queries) == 6
    assert (
        f"BETWEEN '{start.isoformat()}' AND '{(start + timedelta(days=14)).isoformat()}'"
        in (queries[0])
    )
    # Progress counts real days.
    last = reporter.calls[-1]
    assert (last["current"], last["total"], last["pct"]) == (90, 90, 100)
    assert [c["current"] for c in reporter.calls] == [0, 15, 30, 45, 60, 75, 90]
    assert "day 90 of 90" in last["message"]

    account = session.get(AdsAccount, (project.id, CUSTOMER))
    assert account is not None
    assert account.currency_code == "EUR"
    names = {c.campaign_id: (c.name, c.status) for c in session.exec(select(AdsCampaign)).all()}
    assert names == {
        111: ("Brand | Search", "ENABLED"),
        222: ("Generic | Search", "ENABLED"),
        333: ("Display | Remarketing", "PAUSED"),
    }


def test_a_rerun_of_the_same_report_changes_nothing(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    connect(session, project, credential)
    sync(session, project, days=10)
    before = {k: (_as_expected(r), r.synced_at) for k, r in _stored(session, project).items()}
    again, _ = sync(session, project, days=10)
    assert (again["rows"], again["inserted"], again["updated"], again["deleted"]) == (30, 0, 0, 0)
    after = {k: (_as_expected(r), r.synced_at) for k, r in _stored(session, project).items()}
    assert after == before  # not even rewritten


def test_the_daily_sync_refetches_the_last_three_days_and_replaces_their_numbers(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    connect(session, project, credential)
    sync(session, project)  # the first sync
    yesterday = TODAY - timedelta(days=1)
    old_day = TODAY - timedelta(days=10)
    # Google revised yesterday (late conversions) and an older day; Brand's numbers on the
    # day before yesterday are gone (no metrics any more).
    revised = {"impressions": 5000, "clicks": 400, "cost_micros": 123_450_000, "conversions": 7.5}
    ads.overrides[(CUSTOMER, 111, yesterday)] = revised
    ads.overrides[(CUSTOMER, 111, old_day)] = revised
    ads.overrides[(CUSTOMER, 222, TODAY - timedelta(days=2))] = {}
    before = _stored(session, project)
    ads.queries.clear()

    result, _ = sync(session, project)

    assert ads.queries == [
        "SELECT segments.date, campaign.id, campaign.name, campaign.status, "
        "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
        "metrics.conversions_value, customer.currency_code FROM campaign WHERE segments.date "
        f"BETWEEN '{(TODAY - timedelta(days=2)).isoformat()}' AND '{TODAY.isoformat()}'"
    ]
    assert result["first_sync"] is False
    assert result["days"] == 3
    assert result["updated"] == 2  # yesterday's Brand row, and Generic's emptied day
    after = _stored(session, project)
    assert _as_expected(after[(111, yesterday)]) == {**revised, "conversions_value": 0.0}
    assert after[(222, TODAY - timedelta(days=2))].clicks == 0
    # Outside the three days nothing moved, though Google revised it too.
    assert _as_expected(after[(111, old_day)]) == _as_expected(before[(111, old_day)])
    assert len(after) == len(before)


def test_rows_google_stops_reporting_are_removed_from_the_range(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    connect(session, project, credential)
    sync(session, project, days=3)
    ads.customers[CUSTOMER].campaigns = ads.customers[CUSTOMER].campaigns[:2]
    result, _ = sync(session, project, days=3)
    assert result["deleted"] == 3
    assert {key[0] for key in _stored(session, project)} == {111, 222}


def test_cost_is_micros_in_the_store_and_units_in_every_read(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    connect(session, project, credential)
    day = TODAY
    ads.overrides[(CUSTOMER, 111, day)] = {
        "impressions": 1000,
        "clicks": 40,
        "cost_micros": 2_500_000_000,
        "conversions": 1.5,
        "conversions_value": 30.0,
    }
    ads.overrides[(CUSTOMER, 222, day)] = {"impressions": 10, "cost_micros": 10_000}
    sync(session, project, days=1)
    assert _stored(session, project)[(111, day)].cost_micros == 2_500_000_000

    campaigns = service.campaigns(session=session, project_id=project.id, start=day, end=day)
    brand = next(c for c in campaigns.data if c.campaign_id == "111")
    assert (brand.cost, brand.cpc, brand.ctr) == (2500.0, 62.5, 0.04)
    generic = next(c for c in campaigns.data if c.campaign_id == "222")
    assert (generic.cost, generic.cpc, generic.clicks) == (0.01, None, 0)
    assert campaigns.totals.cost == 2500.01
    assert campaigns.currency == "EUR"
    series = service.metrics(session=session, project_id=project.id, start=day, end=day)
    assert series.daily[0].cost == 2500.01
    assert money.units(2_500_000_000) == 2500.0


def test_the_account_currency_is_kept(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    ads.customers[CUSTOMER].currency = "JPY"
    connect(session, project, credential)
    result, _ = sync(session, project, days=2)
    assert result["currency"] == "JPY"
    assert (
        service.metrics(session=session, project_id=project.id, start=TODAY, end=TODAY).currency
        == "JPY"
    )


def test_a_longer_manual_range_is_bounded_by_the_first_sync_days(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    assert service.sync_range(has_stored=True, days=500, today=TODAY) == (
        TODAY - timedelta(days=settings.ADS_FIRST_SYNC_DAYS - 1),
        TODAY,
    )
    assert service.sync_range(has_stored=True, days=None, today=TODAY) == (
        TODAY - timedelta(days=2),
        TODAY,
    )
    assert service.chunks(date(2026, 1, 1), date(2026, 1, 31)) == [
        (date(2026, 1, 1), date(2026, 1, 15)),
        (date(2026, 1, 16), date(2026, 1, 30)),
        (date(2026, 1, 31), date(2026, 1, 31)),
    ]


def test_a_failing_chunk_keeps_the_chunks_before_it_and_the_backfill_is_redone(
    session: Session,
    project: Project,
    fake: FakeGoogle,
    ads: AdsState,
    credential: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fakes.google import Reply

    monkeypatch.setattr(settings, "PROVIDER_MAX_RETRIES", 0)
    connect(session, project, credential)
    calls = {"n": 0}
    original = ads.search_stream

    def second_fails(call, match):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            return Reply(500, b"oops")
        return original(call, match)

    fake.routes.clear()
    fake.route(
        "POST",
        r"/(?P<version>v\d+)/customers/(?P<customer>[^/]+)/googleAds:searchStream",
        second_fails,
    )
    with pytest.raises(TransientJobError):
        sync(session, project)  # the first sync: 90 days, 6 chunks
    assert len(_stored(session, project)) == 3 * 15
    # Taken up again (the job's retry, or tomorrow's sync), it is still the first sync.
    again, _ = sync(session, project)
    assert (again["first_sync"], again["days"], again["inserted"]) == (True, 90, 3 * 75)
    after, _ = sync(session, project)
    assert (after["first_sync"], after["days"]) == (False, 3)


def test_a_sync_of_a_refused_account_fails_permanently(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    connect(session, project, credential, developer_token=TEST_ONLY_TOKEN)
    with pytest.raises(PermanentJobError, match="approved for test accounts only"):
        sync(session, project)
    connections_service.delete_connection(
        session=session, project_id=project.id, provider=ADS_PROVIDER
    )
    with pytest.raises(PermanentJobError, match="not connected"):
        sync(session, project)


def test_reads_sort_page_and_filter(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    connect(session, project, credential)
    sync(session, project, days=14)
    start, end = TODAY - timedelta(days=13), TODAY
    expected = ads.expected_rows(CUSTOMER, start, end)
    cost = {
        cid: sum(v["cost_micros"] for (c, _), v in expected.items() if c == cid)
        for cid in (111, 222, 333)
    }

    by_cost = service.campaigns(session=session, project_id=project.id, start=start, end=end)
    assert [c.campaign_id for c in by_cost.data] == [
        str(cid) for cid in sorted(cost, key=lambda c: -cost[c])
    ]
    assert by_cost.count == 3
    assert by_cost.totals.cost == money.units(sum(cost.values()))
    assert by_cost.totals.impressions == sum(v["impressions"] for v in expected.values())
    by_name = service.campaigns(
        session=session, project_id=project.id, start=start, end=end, sort="name", descending=False
    )
    assert [c.name for c in by_name.data] == [
        "Brand | Search",
        "Display | Remarketing",
        "Generic | Search",
    ]
    from app.core.pagination import PageRequest

    second = service.campaigns(
        session=session,
        project_id=project.id,
        start=start,
        end=end,
        sort="name",
        descending=False,
        page=PageRequest(limit=1, offset=1),
    )
    assert ([c.name for c in second.data], second.count, second.has_more) == (
        ["Display | Remarketing"],
        3,
        True,
    )
    by_cpc = service.campaigns(
        session=session, project_id=project.id, start=start, end=end, sort="cpc"
    )
    assert by_cpc.data[-1].campaign_id == "333"  # no clicks: no cpc, last

    one = service.metrics(
        session=session,
        project_id=project.id,
        start=start - timedelta(days=5),
        end=end,
        campaign_id=111,
    )
    assert len(one.daily) == 19
    assert [d.clicks for d in one.daily[:5]] == [0] * 5  # before the sync's range: zeros
    assert one.totals.clicks == sum(v["clicks"] for (c, _), v in expected.items() if c == 111)
    assert one.daily[-1].date == TODAY


def test_data_is_kept_per_customer(
    session: Session, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    connect(session, project, credential)
    sync(session, project, days=2)
    ads.add_customer("4444444444", currency="USD", campaigns=ads.customers[CUSTOMER].campaigns[:1])
    ads.grant("ads-owner@example.com", "4444444444")
    connect(session, project, credential, customer_id="444-444-4444")
    result, _ = sync(session, project)
    assert result["first_sync"] is True  # nothing of this account yet: the full backfill
    read = service.campaigns(session=session, project_id=project.id, start=TODAY, end=TODAY)
    assert ([c.campaign_id for c in read.data], read.currency) == (["111"], "USD")
    count = session.execute(sa.text("SELECT count(DISTINCT customer_id) FROM ads_campaign_days"))
    assert count.scalar_one() == 2


def test_a_project_whose_start_fails_does_not_stop_the_fan_out(
    session: Session,
    ads: AdsState,
    fake: FakeGoogle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.ads import tasks
    from app.jobs.models import JobRun
    from tests.builders import create_project, create_user

    owner = create_user(session)
    projects = [create_project(session, owner=owner, name=f"P{i}") for i in range(3)]
    for project in projects:
        connect(session, project, fake.oauth_client())
    original = service.start_scheduled_sync

    def flaky(db: Session, project: Project):  # type: ignore[no-untyped-def]
        if project.id == projects[1].id:
            raise RuntimeError("the database said no")
        return original(db, project)

    monkeypatch.setattr(service, "start_scheduled_sync", flaky)
    assert tasks.sync_all_accounts() == {"started": 2, "already": 0, "failed": 1}
    started = {job.project_id for job in session.exec(select(JobRun)).all()}
    assert started == {projects[0].id, projects[2].id}
    monkeypatch.setattr(service, "start_scheduled_sync", original)
    assert tasks.sync_all_accounts() == {"started": 1, "already": 2, "failed": 0}
