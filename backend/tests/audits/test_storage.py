"""Batch storage: pages, links and page issues land in PostgreSQL once, however often a
batch is stored, and a stopped crawl can be resumed from what is stored."""

import uuid

import sqlalchemy as sa
from sqlmodel import Session

from app.audits import storage
from app.audits.models import AuditRun
from app.audits.page import Link, RenderedView
from tests.audits.pages import SITE, good_page
from tests.builders import create_project, create_user


def _audit(session: Session) -> uuid.UUID:
    project = create_project(session, owner=create_user(session), site_url=SITE)
    audit = AuditRun(project_id=project.id, config_json={"start_url": f"{SITE}/"})
    session.add(audit)
    session.commit()
    return audit.id


def _counts(session: Session, audit_id: uuid.UUID) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE audit_id = :id"), {"id": audit_id}
        ).scalar_one()
        for table in ("audit_pages", "audit_links", "audit_issues")
    )


def test_storing_a_batch_twice_adds_nothing(session: Session) -> None:
    audit_id = _audit(session)
    pages = [good_page(f"{SITE}/p{i}", titles=["Short"], word_count=10 + i) for i in range(120)]
    pages[0].titles = ["Nul\x00 in a title"]
    assert storage.store_pages(session=session, audit_id=audit_id, pages=pages) == 120
    session.commit()
    first = _counts(session, audit_id)
    # Each page: 2 distinct internal + 1 external link; title_too_short and thin_content.
    assert first == (120, 360, 240)
    assert storage.store_pages(session=session, audit_id=audit_id, pages=pages[60:]) == 0
    session.commit()
    assert _counts(session, audit_id) == first


def test_a_stored_page_reads_back_as_the_crawled_page(session: Session) -> None:
    audit_id = _audit(session)
    page = good_page(f"{SITE}/round-trip", in_sitemap=True)
    storage.store_pages(session=session, audit_id=audit_id, pages=[page])
    session.commit()
    loaded = storage.load_page(session=session, audit_id=audit_id, url=page.url)
    assert loaded == page


def test_unfetched_link_targets_are_the_resume_frontier(session: Session) -> None:
    audit_id = _audit(session)
    home = good_page(
        f"{SITE}/",
        depth=0,
        links=[Link(f"{SITE}/a", "a", False, True), Link(f"{SITE}/b", "b", False, True)],
    )
    a = good_page(f"{SITE}/a", links=[Link(f"{SITE}/c", "c", False, True)])
    storage.store_pages(session=session, audit_id=audit_id, pages=[home, a])
    session.commit()
    assert storage.stored_urls(session=session, audit_id=audit_id) == {home.url, a.url}
    frontier = storage.unfetched_link_targets(session=session, audit_id=audit_id)
    assert frontier == [(f"{SITE}/b", 1), (f"{SITE}/c", 2)]


def test_rendered_view_adds_revealed_links_and_rendering_issues_once(session: Session) -> None:
    audit_id = _audit(session)
    page = good_page(f"{SITE}/app")
    storage.store_pages(session=session, audit_id=audit_id, pages=[page])
    session.commit()
    view = RenderedView(
        title=page.titles[0],
        h1=page.h1,
        links=[Link(f"{SITE}/js-only", "js", False, True)],
        word_count=900,
        links_only_rendered=[f"{SITE}/js-only"],
        words_only_rendered=260,
    )
    for _ in range(2):
        storage.store_rendered_view(session=session, audit_id=audit_id, page=page, view=view)
        session.commit()
    rows = session.execute(
        sa.text("SELECT target_url FROM audit_links WHERE audit_id = :id AND rendered_only"),
        {"id": audit_id},
    ).all()
    assert rows == [(f"{SITE}/js-only",)]
    codes = (
        session.execute(
            sa.text("SELECT code FROM audit_issues WHERE audit_id = :id"), {"id": audit_id}
        )
        .scalars()
        .all()
    )
    assert codes == ["rendered_only_content"]


def test_a_size_past_the_integer_column_is_stored_capped(session: Session) -> None:
    audit_id = _audit(session)
    page = good_page(f"{SITE}/huge", size_bytes=5 * 2**31)
    storage.store_pages(session=session, audit_id=audit_id, pages=[page])
    session.commit()
    loaded = storage.load_page(session=session, audit_id=audit_id, url=page.url)
    assert loaded is not None
    assert loaded.size_bytes == 2**31 - 1
