"""Writing crawled pages, their links and their page-level issues in batches.

One INSERT for the pages of a batch (`ON CONFLICT (audit_id, url) DO NOTHING ... RETURNING
url`), then COPY for the links and issues of the pages that were new. A batch that is stored
twice (a retried or rescued crawl re-fetching a page) therefore adds nothing the second time.
The caller commits once per batch.
"""

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from app.audits.checks.catalogue import CATALOGUE
from app.audits.checks.page_checks import (
    Details,
    description_px,
    page_facts,
    run_page_checks,
    title_px,
)
from app.audits.crawl.urls import normalize_url
from app.audits.models import AuditIssue, AuditLink, AuditPage
from app.audits.page import (
    CrawledPage,
    FetchError,
    Hreflang,
    Image,
    Link,
    RedirectHop,
    RenderedView,
)
from app.core.db import driver_connection

MAX_ANCHOR_CHARS = 300
MAX_TEXT_CHARS = 2000
MAX_FACTS = 50  # list entries kept per markup fact
# The size columns are PostgreSQL integers; no server-declared size may overflow one.
_MAX_INT4 = 2**31 - 1

_PAGES = AuditPage.__table__  # type: ignore[attr-defined]


def _clean(text: str | None, limit: int = MAX_TEXT_CHARS) -> str | None:
    # PostgreSQL text cannot hold NUL; pages sometimes contain it.
    if text is None:
        return None
    return text.replace("\x00", "")[:limit]


def _clean_all(values: Iterable[str], limit: int = MAX_TEXT_CHARS) -> list[str]:
    return [value.replace("\x00", "")[:limit] for value in values]


def _json_safe(value: Any) -> Any:
    """The value with NUL removed from every string (jsonb refuses \\u0000)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _rendered_json(view: RenderedView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    data = asdict(view)
    # The full rendered link list lives in audit_links; the row keeps what the report shows.
    data["links"] = len(view.links)
    return _json_safe(data)  # type: ignore[no-any-return]


def page_row(audit_id: uuid.UUID, page: CrawledPage) -> dict[str, Any]:
    facts = page_facts(page)
    base = page.final_url or page.url
    hreflang = []
    for entry in page.hreflang:
        target = normalize_url(entry.url, base=base)
        if target is not None:
            hreflang.append({"lang": entry.lang[:64], "url": target, "source": entry.source})
    images = [
        {
            "src": normalize_url(image.src, base=base) or image.src,
            "alt": _clean(image.alt, 500),
            "sized": image.sized,
        }
        for image in page.images
    ]
    return {
        "audit_id": audit_id,
        "url": page.url,
        "depth": page.depth,
        "final_url": page.final_url,
        "status_code": page.status_code,
        "final_status_code": page.final_status_code,
        "error": page.error.value if page.error else None,
        "error_detail": _clean(page.error_detail),
        "response_time_ms": page.response_time_ms,
        "download_time_ms": page.download_time_ms,
        "size_bytes": min(max(page.size_bytes, 0), _MAX_INT4),
        "content_type": _clean(page.content_type, 255),
        "is_html": page.is_html,
        "is_resource": page.is_resource,
        "indexable": facts.indexable,
        "noindex": facts.noindex,
        "nofollow": facts.nofollow,
        "blocked_by_robots": page.blocked_by_robots,
        "blocked_for_agent": page.blocked_for_agent,
        "in_sitemap": page.in_sitemap,
        "sitemap_count": page.sitemap_count,
        "title": _clean(next((t.strip() for t in page.titles if t.strip()), None)),
        "meta_description": _clean(
            next((d.strip() for d in page.meta_descriptions if d.strip()), None)
        ),
        "canonical_url": facts.canonical_url,
        "word_count": page.word_count,
        "body_hash": page.body_hash,
        "simhash": page.simhash,
        "title_px": title_px(page),
        "description_px": description_px(page),
        "lang": _clean(page.lang, 64),
        "viewport": _clean(page.viewport),
        "meta_refresh": _clean(page.meta_refresh),
        "canonical_header": _clean(page.canonical_header),
        "internal_link_count": facts.internal_link_count,
        "external_link_count": facts.external_link_count,
        "script_count": page.script_count,
        "empty_app_root": page.empty_app_root,
        "noscript_hint": page.noscript_hint,
        "redirect_chain": [{"url": hop.url, "status": hop.status} for hop in page.redirect_chain],
        "titles": _clean_all(page.titles),
        "meta_descriptions": _clean_all(page.meta_descriptions),
        "meta_robots": _clean_all(page.meta_robots),
        "x_robots_tag": _clean_all(page.x_robots_tag),
        "canonicals": _clean_all(page.canonicals),
        "h1": _clean_all(page.h1),
        "h2": _clean_all(page.h2),
        "heading_levels": page.heading_levels,
        "hreflang": hreflang,
        "images": images,
        "structured_data_types": _clean_all(page.structured_data_types, 200),
        "insecure_resources": _clean_all(page.insecure_resources),
        "insecure_form_actions": _clean_all(page.insecure_form_actions),
        "rendered": _rendered_json(page.rendered),
        "facts": _json_safe(
            {
                "in_body": page.in_body,
                "head_count": page.head_count,
                "body_count": page.body_count,
                "duplicate_ids": page.duplicate_ids[:MAX_FACTS],
                "structured_data_errors": page.structured_data_errors[:MAX_FACTS],
                "structured_data_missing": page.structured_data_missing[:MAX_FACTS],
                "unsafe_blank_links": page.unsafe_blank_links[:MAX_FACTS],
                "missing_security_headers": page.missing_security_headers,
            }
        ),
    }


def _link_rows(
    audit_id: uuid.UUID, source_url: str, links: Iterable[Link], *, rendered_only: bool
) -> list[tuple[Any, ...]]:
    rows = []
    seen: set[str] = set()
    for link in links:
        # One row per (source, target): inlink counts mean "pages linking here".
        if link.url in seen:
            continue
        seen.add(link.url)
        anchor = link.anchor_text.replace("\x00", "")[:MAX_ANCHOR_CHARS]
        rows.append(
            (audit_id, source_url, link.url, anchor, link.nofollow, link.internal, rendered_only)
        )
    return rows


def _copy_links(session: Session, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    statement = (
        "COPY audit_links (audit_id, source_url, target_url, anchor_text, nofollow, internal,"
        " rendered_only) FROM STDIN"
    )
    with driver_connection(session).cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _insert_issues(
    session: Session, audit_id: uuid.UUID, found: list[tuple[str, str, Details]]
) -> None:
    """(url, code, details) rows; duplicates of an existing (audit, code, url) are skipped."""
    if not found:
        return
    rows = [
        {
            "audit_id": audit_id,
            "url": url,
            "code": code,
            "severity": CATALOGUE[code].severity.value,
            "details": _json_safe(details),
        }
        for url, code, details in found
    ]
    statement = insert(AuditIssue.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
        constraint="uq_audit_issues_audit_id_code_url"
    )
    with _unprepared(session):
        session.execute(statement, rows)


def _copy_issues(
    session: Session, audit_id: uuid.UUID, found: list[tuple[str, str, Details]]
) -> None:
    if not found:
        return
    statement = "COPY audit_issues (audit_id, url, code, severity, details) FROM STDIN"
    with driver_connection(session).cursor() as cursor, cursor.copy(statement) as copy:
        for url, code, details in found:
            copy.write_row(
                (
                    audit_id,
                    url,
                    code,
                    CATALOGUE[code].severity.value,
                    json.dumps(_json_safe(details)),
                )
            )


_INSERT_PAGES = (
    insert(_PAGES)
    .on_conflict_do_nothing(constraint="uq_audit_pages_audit_id_url")
    .returning(_PAGES.c.url)
)


@contextmanager
def _unprepared(session: Session) -> Iterator[None]:
    """Statements sent meanwhile are not counted for server-side preparation. psycopg counts
    each (SQL text, parameter types) it sees, up to 100 per connection, and keeps the key: a
    multi-row page insert is ~18 KB of SQL and ~9 KB of types, different with every batch's
    row count and NULLs, so the counts held ~2.5 MB of texts seen once for the worker's
    life (none repeats enough to be prepared)."""
    connection = driver_connection(session)
    threshold = connection.prepare_threshold
    connection.prepare_threshold = None
    try:
        yield
    finally:
        connection.prepare_threshold = threshold


def store_pages(*, session: Session, audit_id: uuid.UUID, pages: Sequence[CrawledPage]) -> int:
    """Stores a batch of crawled pages with their links and page-level issues; returns how
    many pages were new. Does not commit."""
    if not pages:
        return 0
    by_url: dict[str, CrawledPage] = {}
    for page in pages:
        by_url.setdefault(page.url, page)
    unique = list(by_url.values())
    # One statement compiled once (executemany: SQLAlchemy sends the rows as multi-row
    # VALUES batches under PostgreSQL's parameter limit); building a statement with the rows
    # in it would be compiled again for every batch.
    rows = [page_row(audit_id, page) for page in unique]
    with _unprepared(session):
        new_urls = list(session.execute(_INSERT_PAGES, rows).scalars())
    links: list[tuple[Any, ...]] = []
    issues: list[tuple[str, str, Details]] = []
    for url in new_urls:
        page = by_url[url]
        links.extend(_link_rows(audit_id, url, page.links, rendered_only=False))
        if page.rendered is not None:
            only = set(page.rendered.links_only_rendered)
            revealed = [link for link in page.rendered.links if link.url in only]
            links.extend(_link_rows(audit_id, url, revealed, rendered_only=True))
        issues.extend((url, code, details) for code, details in run_page_checks(page))
    _copy_links(session, links)
    # New pages cannot have issues yet, so COPY needs no conflict handling.
    _copy_issues(session, audit_id, issues)
    return len(new_urls)


def delete_pages(*, session: Session, audit_id: uuid.UUID) -> None:
    """Forgets what an audit crawled (its issues, links and pages), so it starts over."""
    for table in (AuditIssue, AuditLink, AuditPage):
        session.execute(sa.delete(table).where(col(table.audit_id) == audit_id))


def store_rendered_view(
    *, session: Session, audit_id: uuid.UUID, page: CrawledPage, view: RenderedView
) -> None:
    """Records what the browser saw for a stored page: the view, the links only rendering
    revealed, and the rendering checks' issues. Does not commit."""
    session.execute(
        sa.update(_PAGES)
        .where(_PAGES.c.audit_id == audit_id, _PAGES.c.url == page.url)
        .values(rendered=_rendered_json(view))
    )
    already = set(
        session.execute(
            sa.select(sa.text("target_url"))
            .select_from(sa.text("audit_links"))
            .where(sa.text("audit_id = :audit_id AND source_url = :url AND rendered_only")),
            {"audit_id": audit_id, "url": page.url},
        ).scalars()
    )
    only = set(view.links_only_rendered) - already
    _copy_links(
        session,
        _link_rows(
            audit_id,
            page.url,
            [link for link in view.links if link.url in only],
            rendered_only=True,
        ),
    )
    page.rendered = view
    found = [
        (page.url, code, details)
        for code, details in run_page_checks(page)
        if CATALOGUE[code].category == "rendering"
    ]
    _insert_issues(session, audit_id, found)


def page_from_row(row: AuditPage, links: Sequence[Link] = ()) -> CrawledPage:
    """A stored page as the crawler's dataclass (for the renderer and resumed crawls)."""
    facts = row.facts or {}
    return CrawledPage(
        url=row.url,
        depth=row.depth,
        final_url=row.final_url,
        status_code=row.status_code,
        final_status_code=row.final_status_code,
        error=FetchError(row.error) if row.error else None,
        error_detail=row.error_detail,
        redirect_chain=[RedirectHop(url=h["url"], status=h["status"]) for h in row.redirect_chain],
        response_time_ms=row.response_time_ms,
        download_time_ms=row.download_time_ms,
        size_bytes=row.size_bytes,
        content_type=row.content_type,
        is_html=row.is_html,
        is_resource=row.is_resource,
        x_robots_tag=list(row.x_robots_tag),
        canonical_header=row.canonical_header,
        titles=list(row.titles),
        meta_descriptions=list(row.meta_descriptions),
        meta_robots=list(row.meta_robots),
        canonicals=list(row.canonicals),
        h1=list(row.h1),
        h2=list(row.h2),
        heading_levels=list(row.heading_levels),
        lang=row.lang,
        viewport=row.viewport,
        hreflang=[
            Hreflang(lang=h["lang"], url=h["url"], source=h.get("source", "html"))
            for h in row.hreflang
        ],
        meta_refresh=row.meta_refresh,
        word_count=row.word_count,
        body_hash=row.body_hash,
        links=list(links),
        images=[Image(src=i["src"], alt=i["alt"], sized=i.get("sized", True)) for i in row.images],
        structured_data_types=list(row.structured_data_types),
        insecure_resources=list(row.insecure_resources),
        insecure_form_actions=list(row.insecure_form_actions),
        script_count=row.script_count,
        empty_app_root=row.empty_app_root,
        noscript_hint=row.noscript_hint,
        blocked_by_robots=row.blocked_by_robots,
        blocked_for_agent=row.blocked_for_agent,
        in_sitemap=row.in_sitemap,
        sitemap_count=row.sitemap_count,
        simhash=row.simhash,
        in_body=list(facts.get("in_body", [])),
        head_count=int(facts.get("head_count", 1)),
        body_count=int(facts.get("body_count", 1)),
        duplicate_ids=list(facts.get("duplicate_ids", [])),
        structured_data_errors=list(facts.get("structured_data_errors", [])),
        structured_data_missing=list(facts.get("structured_data_missing", [])),
        unsafe_blank_links=list(facts.get("unsafe_blank_links", [])),
        missing_security_headers=list(facts.get("missing_security_headers", [])),
    )


def load_links(*, session: Session, audit_id: uuid.UUID, source_url: str) -> list[Link]:
    rows = session.execute(
        sa.text(
            "SELECT target_url, anchor_text, nofollow, internal FROM audit_links"
            " WHERE audit_id = :audit_id AND source_url = :url AND NOT rendered_only"
            " ORDER BY id"
        ),
        {"audit_id": audit_id, "url": source_url},
    ).all()
    return [Link(url=r[0], anchor_text=r[1], nofollow=r[2], internal=r[3]) for r in rows]


def load_page(*, session: Session, audit_id: uuid.UUID, url: str) -> CrawledPage | None:
    row = session.exec(
        select(AuditPage).where(col(AuditPage.audit_id) == audit_id, col(AuditPage.url) == url)
    ).first()
    if row is None:
        return None
    return page_from_row(row, load_links(session=session, audit_id=audit_id, source_url=url))


def stored_urls(*, session: Session, audit_id: uuid.UUID) -> set[str]:
    return set(
        session.execute(
            sa.text("SELECT url FROM audit_pages WHERE audit_id = :audit_id"),
            {"audit_id": audit_id},
        ).scalars()
    )


def unfetched_link_targets(*, session: Session, audit_id: uuid.UUID) -> list[tuple[str, int]]:
    """Internal URLs linked from stored pages but not stored themselves, with the depth they
    were found at: the frontier of a crawl that stopped part-way."""
    rows = session.execute(
        sa.text(
            """
            SELECT l.target_url, min(p.depth) + 1 AS depth
            FROM audit_links l
            JOIN audit_pages p ON p.audit_id = l.audit_id AND p.url = l.source_url
            WHERE l.audit_id = :audit_id AND l.internal AND NOT l.rendered_only
              AND NOT EXISTS (SELECT 1 FROM audit_pages t
                              WHERE t.audit_id = l.audit_id AND t.url = l.target_url)
            GROUP BY l.target_url
            ORDER BY depth, l.target_url
            """
        ),
        {"audit_id": audit_id},
    ).all()
    return [(row[0], int(row[1])) for row in rows]
