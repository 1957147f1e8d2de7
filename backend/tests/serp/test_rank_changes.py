"""Rank changes: what a drop is (places_lost), and the baseline a check is compared with (the
previous completed check, failed ones skipped), recorded per refresh job with the checks."""

import datetime as dt
import uuid

import pytest
from sqlmodel import Session, col, select

from app.core.config import settings
from app.core.db import utcnow
from app.projects.models import Project
from app.serp import service
from app.serp.client import SerpCheck
from app.serp.models import SerpKeyword, SerpRankChange, SerpSnapshot, places_lost
from tests.builders import create_project, create_user
from tests.serp.conftest import add_keywords


@pytest.mark.parametrize(
    ("before", "before_depth", "after", "depth", "lost"),
    [
        (3, 100, 12, 100, 9),  # ranked both times
        (10, 100, 2, 100, -8),  # up
        (20, 30, None, 30, 11),  # out of the top 30: counted as 31
        (98, 100, None, 100, 3),  # out of the top 100 from 98: at least 3
        (None, 30, 8, 30, -23),  # into the top 30: at least 23 up
        (None, 10, 50, 100, None),  # not in the top 10, then 50 of a deeper check: unknown
        (None, 30, None, 30, None),  # not found either time
    ],
)
def test_places_lost(
    before: int | None, before_depth: int, after: int | None, depth: int, lost: int | None
) -> None:
    assert (
        places_lost(
            previous_position=before, previous_depth=before_depth, position=after, depth=depth
        )
        == lost
    )


def _snapshot(session: Session, keyword: SerpKeyword, days_ago: int, position: int | None) -> None:
    moment = utcnow() - dt.timedelta(days=days_ago)
    session.add(
        SerpSnapshot(
            keyword_id=keyword.id,
            project_id=keyword.project_id,
            checked_on=moment.date(),
            checked_at=moment,
            status="ranked" if position else "failed",
            position=position,
            url=f"https://example.com/{position}" if position else None,
            depth=100,
            provider="serpapi",
        )
    )
    session.commit()


def _check(session: Session, keyword: SerpKeyword, job_id: uuid.UUID, position: int | None) -> None:
    check = SerpCheck(
        position=position,
        url=f"https://example.com/{position}" if position else None,
        top=(),
        depth=100,
        requests=1,
    )
    service.record_checks(
        session=session,
        outcomes=[service.CheckOutcome(keyword, check)],
        provider="serpapi",
        depth=100,
        job_id=job_id,
    )


def _project(session: Session) -> Project:
    return create_project(session, owner=create_user(session), site_url="https://example.com")


def test_a_check_is_compared_with_the_previous_completed_one(session: Session) -> None:
    project = _project(session)
    (keyword,) = add_keywords(session, project, ["shoes"])
    _snapshot(session, keyword, 3, 4)
    _snapshot(session, keyword, 2, None)  # a failed check: skipped, not a position
    job = uuid.uuid4()
    _check(session, keyword, job, 14)
    (change,) = session.exec(select(SerpRankChange)).all()
    assert (change.job_id, change.previous_position, change.position) == (job, 4, 14)
    assert change.previous_checked_on == (utcnow() - dt.timedelta(days=3)).date()
    drops = service.rank_drops(session=session, job_id=job, more_than=5)
    assert [(d.text, d.places_lost) for d in drops] == [("shoes", 10)]
    assert service.rank_drops(session=session, job_id=job, more_than=10) == []

    # A second refresh the same day replaces the day's snapshot, but the first job's change
    # stays its own; the second is compared with the first one's check.
    later = uuid.uuid4()
    _check(session, keyword, later, 20)
    changes = session.exec(select(SerpRankChange).where(col(SerpRankChange.job_id) == later)).all()
    assert [(c.previous_position, c.position) for c in changes] == [(14, 20)]
    assert [
        d.places_lost for d in service.rank_drops(session=session, job_id=job, more_than=5)
    ] == [10]


def test_unchanged_first_and_failed_checks_record_no_change(session: Session) -> None:
    project = _project(session)
    keywords = {k.text: k for k in add_keywords(session, project, ["steady", "new", "failing"])}
    steady, new, failing = keywords["steady"], keywords["new"], keywords["failing"]
    _snapshot(session, steady, 1, 7)
    _snapshot(session, failing, 1, 3)
    job = uuid.uuid4()
    _check(session, steady, job, 7)
    _check(session, new, job, 12)
    service.record_checks(
        session=session,
        outcomes=[service.CheckOutcome(failing, None, "SerpApi answered HTTP 400")],
        provider="serpapi",
        depth=100,
        job_id=job,
    )
    assert session.exec(select(SerpRankChange)).all() == []


def test_old_rank_changes_are_purged(session: Session) -> None:
    project = _project(session)
    (keyword,) = add_keywords(session, project, ["shoes"])
    _snapshot(session, keyword, 1, 4)
    _check(session, keyword, uuid.uuid4(), 9)
    (change,) = session.exec(select(SerpRankChange)).all()
    assert service.purge_old_rank_changes(session, 100) == 0
    change.checked_at = utcnow() - dt.timedelta(days=settings.SERP_SNAPSHOT_RETENTION_DAYS + 1)
    session.add(change)
    session.commit()
    assert service.purge_old_rank_changes(session, 100) == 1
