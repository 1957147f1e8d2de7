"""Backlink imports (start, run, report) and the reads of a project's backlinks.

An import is a file on disk (LINKS_UPLOAD_DIR, shared by the API and the `low` workers)
and a `link_imports` row recorded with its job: the header is recognised before the job
starts (an unknown format never becomes a job), the job reads and writes the rows
(ingest.py), and the file is removed when the job ends (tasks.py).
"""

import contextlib
import csv
import io
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.core.config import settings
from app.core.db import libpq_dsn, utcnow
from app.core.pagination import COUNT_AHEAD, Page, PageRequest, paginate
from app.jobs import service as jobs_service
from app.jobs.models import ACTIVE_STATUSES, JobPriority, JobRun
from app.links import ingest
from app.links.domain import LINKS_INGEST_JOB
from app.links.encoding import FileEncoding, detect_encoding, read_header
from app.links.formats import FORMATS_BY_NAME, SUMMARY_COUNTS, ColumnPlan, recognise
from app.links.models import (
    AnchorPublic,
    Backlink,
    LinkImport,
    LinkImportPublic,
    LinkImportReportPublic,
    LinkRejectionPublic,
    LinkSummaryRow,
    ReferringDomainPublic,
    TimelinePointPublic,
)
from app.projects.models import Project
from app.projects.visibility import visible_project
from app.users.models import User

INGEST_STAGE = "ingest"
# The longest timeline one request may ask for, in days (about 3 years of daily points).
MAX_TIMELINE_DAYS = 1100
MAX_TOP_ANCHORS = 100


class UploadGoneError(Exception):
    """The import's file is no longer on disk (its job ended before, or the directory is not
    shared with this worker): upload it again."""


def upload_directory() -> Path:
    return Path(settings.LINKS_UPLOAD_DIR)


def upload_path(import_id: uuid.UUID) -> Path:
    return upload_directory() / f"{import_id}.upload"


def discard_upload(import_id: uuid.UUID) -> None:
    with contextlib.suppress(FileNotFoundError):
        upload_path(import_id).unlink()


@dataclass(frozen=True, slots=True)
class InspectedFile:
    encoding: FileEncoding
    delimiter: str
    plan: ColumnPlan


def inspect_file(path: Path) -> InspectedFile:
    """The file's encoding and recognised header. Raises UnknownFormatError or
    UnreadableFileError (both ValueError, with a message for people)."""
    encoding = detect_encoding(path)
    header = read_header(path, encoding)
    return InspectedFile(
        encoding=encoding, delimiter=header.delimiter, plan=recognise(header.columns)
    )


def start_import(
    *, session: Session, project: Project, user: User, path: Path, file_name: str, size: int
) -> JobRun:
    """Recognises the uploaded file at `path` and starts its import job (the file then
    belongs to the import). Raises ValueError for a file that is no known export, and the
    job quota's error; the file is removed whenever no job starts."""
    try:
        inspected = inspect_file(path)
        import_id = uuid.uuid4()
        job, _ = jobs_service.record_job(
            session=session,
            job_type=LINKS_INGEST_JOB,
            stage=INGEST_STAGE,
            project=project,
            user=user,
            priority=JobPriority.bulk,  # an import: runs beside people's clicks, never before
            config={"import_id": str(import_id)},
        )
        link_import = LinkImport(
            id=import_id,
            project_id=project.id,
            user_id=user.id,
            job_id=job.id,
            file_name=file_name,
            format=inspected.plan.format.name,
            encoding=inspected.encoding.encoding,
            delimiter=inspected.delimiter,
            bytes=size,
        )
        session.add(link_import)
        path.rename(upload_path(link_import.id))
        try:
            session.commit()  # publishes the job
        except BaseException:
            discard_upload(link_import.id)
            raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return job


def connect_for_import() -> psycopg.Connection[Any]:
    """The import's own connection. Batches commit asynchronously: if PostgreSQL itself
    crashes the last instants of writes may be lost, and the retried job writes them again
    (merging is idempotent)."""
    return psycopg.connect(
        libpq_dsn(settings.DATABASE_URL), options="-c synchronous_commit=off -c TimeZone=UTC"
    )


def run_import(
    *,
    session: Session,
    import_id: uuid.UUID,
    job_id: uuid.UUID,
    progress: ingest.ProgressCallback,
) -> dict[str, Any]:
    """Reads the import's file and writes its rows; records the report. Raises
    UploadGoneError when the file is not there."""
    link_import = session.get(LinkImport, import_id)
    if link_import is None:
        raise UploadGoneError("the import was deleted")
    project = session.get(Project, link_import.project_id)
    assert project is not None  # the import cascades with its project
    path = upload_path(import_id)
    if not path.exists():
        raise UploadGoneError(
            "the uploaded file is no longer there (an import's file is removed when its job "
            "ends): upload the export again"
        )
    inspected = inspect_file(path)
    link_import.job_id = job_id
    session.add(link_import)
    session.commit()
    tally = ingest.ingest(
        ingest.ImportSource(
            path=path,
            encoding=inspected.encoding,
            delimiter=inspected.delimiter,
            plan=inspected.plan,
        ),
        ingest.ImportTarget(
            project_id=project.id,
            import_id=import_id,
            site_url=project.site_url,
            include_subdomains=project.include_subdomains,
        ),
        connect=connect_for_import,
        progress=progress,
        use_helper=0 < settings.LINKS_IMPORT_HELPER_MIN_BYTES <= path.stat().st_size,
    )
    link_import.rows = tally.rows
    link_import.accepted = tally.accepted
    link_import.rejected = tally.rejected
    link_import.new = tally.new
    link_import.updated = tally.updated
    link_import.rejections = tally.rejections
    link_import.finished_at = utcnow()
    session.add(link_import)
    session.commit()
    return {
        "import_id": str(import_id),
        "format": inspected.plan.format.name,
        "rows": tally.rows,
        "accepted": tally.accepted,
        "rejected": tally.rejected,
        "new": tally.new,
        "updated": tally.updated,
    }


_ORPHAN_BACKLINKS = sa.text("""
    DELETE FROM backlinks WHERE (project_id, link_key) IN (
        SELECT b.project_id, b.link_key FROM backlinks AS b
        WHERE NOT EXISTS (SELECT 1 FROM projects AS p WHERE p.id = b.project_id)
        LIMIT :batch
    )
""")


def purge_orphan_backlinks(session: Session, batch: int) -> int:
    """Deletes at most `batch` backlinks of projects that no longer exist (the clean-up's
    rule for the table without a foreign key)."""
    result = session.execute(_ORPHAN_BACKLINKS, {"batch": batch})
    return int(result.rowcount)  # type: ignore[attr-defined]


# An upload older than this whose import is not active was left behind (a worker killed
# mid-import, an API stopped mid-upload): the daily clean-up removes it.
STALE_UPLOAD_SECONDS = 24 * 3600


def purge_stale_uploads(session: Session, batch: int) -> int:
    """Deletes at most `batch` upload files left behind: older than STALE_UPLOAD_SECONDS
    and not the file of an import whose job is still queued or running."""
    directory = upload_directory()
    if not directory.is_dir():
        return 0
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    deleted = 0
    for path in directory.iterdir():
        if deleted >= batch:
            break
        try:
            if path.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        if path.suffix == ".upload" and _import_is_active(session, path.stem):
            continue
        path.unlink(missing_ok=True)
        deleted += 1
    return deleted


def _import_is_active(session: Session, name: str) -> bool:
    try:
        import_id = uuid.UUID(name)
    except ValueError:
        return False
    status = session.exec(
        select(JobRun.status)
        .join(LinkImport, col(LinkImport.job_id) == col(JobRun.id))
        .where(col(LinkImport.id) == import_id)
    ).first()
    return status in ACTIVE_STATUSES


# --- Reads ---------------------------------------------------------------------------------


def get_import_for_user(*, session: Session, import_id: uuid.UUID, user: User) -> LinkImport | None:
    """The import, if the user may see its project; else None, like one that does not exist."""
    return session.exec(
        select(LinkImport).where(
            col(LinkImport.id) == import_id, visible_project(user, col(LinkImport.project_id))
        )
    ).first()


def _public_fields(session: Session, link_import: LinkImport) -> dict[str, Any]:
    job = None if link_import.job_id is None else session.get(JobRun, link_import.job_id)
    link_format = FORMATS_BY_NAME.get(link_import.format)
    return {
        **link_import.model_dump(exclude={"rejections", "delimiter", "user_id"}),
        "status": None if job is None else job.status,
        "format_label": link_format.label if link_format else link_import.format,
        "authority_metric": link_format.authority_metric if link_format else None,
    }


def import_public(*, session: Session, link_import: LinkImport) -> LinkImportPublic:
    return LinkImportPublic(**_public_fields(session, link_import))


def import_report(*, session: Session, link_import: LinkImport) -> LinkImportReportPublic:
    return LinkImportReportPublic(
        **_public_fields(session, link_import),
        rejections=[LinkRejectionPublic(**kept) for kept in link_import.rejections],
    )


def list_imports(*, session: Session, project: Project, page: PageRequest) -> Page[LinkImport]:
    statement = (
        select(LinkImport)
        .where(col(LinkImport.project_id) == project.id)
        .order_by(col(LinkImport.created_at).desc(), col(LinkImport.id))
    )
    return paginate(session, statement, page)


def rejected_rows_csv(link_import: LinkImport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "reason", "source_url", "target_url"])
    for kept in link_import.rejections:
        writer.writerow(
            [kept["line"], kept["reason"], kept.get("source_url", ""), kept.get("target_url", "")]
        )
    return out.getvalue()


class BacklinkSort(StrEnum):
    last_seen = "last_seen"
    last_seen_desc = "-last_seen"
    first_seen = "first_seen"
    first_seen_desc = "-first_seen"
    authority = "authority"
    authority_desc = "-authority"
    referring_domain = "referring_domain"
    source_url = "source_url"


@dataclass(frozen=True, slots=True)
class BacklinkFilter:
    referring_domain: str | None = None
    nofollow: bool | None = None
    ugc: bool | None = None
    sponsored: bool | None = None
    lost: bool | None = None
    anchor: str | None = None  # a substring, case-insensitive


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_backlinks(
    *,
    session: Session,
    project: Project,
    filters: BacklinkFilter,
    sort: BacklinkSort,
    page: PageRequest,
) -> Page[Backlink]:
    statement = select(Backlink).where(col(Backlink.project_id) == project.id)
    if filters.referring_domain:
        domain = filters.referring_domain.strip().lower().removeprefix("www.")
        statement = statement.where(col(Backlink.referring_domain) == domain)
    for flag, wanted in (
        (Backlink.nofollow, filters.nofollow),
        (Backlink.ugc, filters.ugc),
        (Backlink.sponsored, filters.sponsored),
        (Backlink.lost, filters.lost),
    ):
        if wanted is not None:
            statement = statement.where(col(flag) == wanted)
    if filters.anchor:
        statement = statement.where(
            col(Backlink.anchor).ilike(f"%{_escape_like(filters.anchor)}%", escape="\\")
        )
    name = sort.value.lstrip("-")
    column = col(getattr(Backlink, name))
    ordered = column.desc().nulls_last() if sort.value.startswith("-") else column.asc()
    statement = statement.order_by(ordered, col(Backlink.link_key))
    return paginate(session, statement, page)


def _bounded_count(session: Session, statement: Any, page: PageRequest) -> tuple[int, bool]:
    bound = page.offset + page.limit + COUNT_AHEAD
    counted = statement.order_by(None).limit(bound + 1).subquery()
    count = int(session.execute(sa.select(func.count()).select_from(counted)).scalar_one())
    return min(count, bound), count > bound


def referring_domains(
    *, session: Session, project: Project, page: PageRequest
) -> Page[ReferringDomainPublic]:
    """The project's referring domains, most links first."""
    links = func.count().label("links")
    statement = (
        sa.select(
            col(Backlink.referring_domain),
            links,
            func.count().filter(col(Backlink.nofollow).is_(False)).label("dofollow_links"),
            func.count().filter(col(Backlink.lost).is_(True)).label("lost_links"),
            func.min(col(Backlink.first_seen)).label("first_seen"),
            func.max(col(Backlink.last_seen)).label("last_seen"),
        )
        .where(col(Backlink.project_id) == project.id)
        .group_by(col(Backlink.referring_domain))
        .order_by(links.desc(), col(Backlink.referring_domain))
    )
    fetched = session.execute(statement.offset(page.offset).limit(page.limit + 1)).all()
    has_more = len(fetched) > page.limit
    rows = [
        ReferringDomainPublic(
            domain=row.referring_domain,
            links=row.links,
            dofollow_links=row.dofollow_links,
            lost_links=row.lost_links,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
        )
        for row in fetched[: page.limit]
    ]
    if not has_more and (rows or page.offset == 0):
        return Page(rows, page.offset + len(rows), has_more=False, count_is_estimate=False)
    count, estimate = _bounded_count(session, statement, page)
    return Page(rows, count, has_more=has_more, count_is_estimate=estimate)


def top_anchors(*, session: Session, project: Project, limit: int) -> list[AnchorPublic]:
    anchor = func.coalesce(col(Backlink.anchor), "").label("anchor")
    links = func.count().label("links")
    statement = (
        sa.select(
            anchor, links, func.count(func.distinct(col(Backlink.referring_domain))).label("rd")
        )
        .where(col(Backlink.project_id) == project.id)
        .group_by(anchor)
        .order_by(links.desc(), anchor)
        .limit(min(limit, MAX_TOP_ANCHORS))
    )
    return [
        AnchorPublic(anchor=row.anchor, links=row.links, referring_domains=row.rd)
        for row in session.execute(statement).all()
    ]


class TimelineInterval(StrEnum):
    day = "day"
    week = "week"


def timeline_bounds(start: date | None, end: date | None) -> tuple[date, date]:
    """The range asked for (default: the last 90 days); ValueError when it is reversed or
    longer than MAX_TIMELINE_DAYS."""
    end = end or utcnow().date()
    start = start or end - timedelta(days=89)
    if start > end:
        raise ValueError("start must be on or before end")
    if (end - start).days + 1 > MAX_TIMELINE_DAYS:
        raise ValueError(f"the timeline covers at most {MAX_TIMELINE_DAYS} days")
    return start, end


def _bucket(day: date, interval: TimelineInterval) -> date:
    return day - timedelta(days=day.weekday()) if interval is TimelineInterval.week else day


def timeline(
    *, session: Session, project: Project, start: date, end: date, interval: TimelineInterval
) -> list[TimelinePointPublic]:
    """New links (by first_seen) and lost links (by lost_on) per day or week (weeks start on
    Monday), every bucket of the range present."""
    counts: dict[date, list[int]] = {}
    day = _bucket(start, interval)
    step = timedelta(days=7 if interval is TimelineInterval.week else 1)
    while day <= end:
        counts[day] = [0, 0]
        day += step
    unit = sa.literal(interval.value)
    for position, column in ((0, col(Backlink.first_seen)), (1, col(Backlink.lost_on))):
        bucket = sa.cast(func.date_trunc(unit, column), sa.Date).label("bucket")
        statement = (
            sa.select(bucket, func.count())
            .where(col(Backlink.project_id) == project.id, column >= start, column <= end)
            .group_by(bucket)
        )
        for found, number in session.execute(statement).all():
            counts.setdefault(found, [0, 0])[position] = number
    return [
        TimelinePointPublic(start=bucket_start, new=pair[0], lost=pair[1])
        for bucket_start, pair in sorted(counts.items())
    ]


def summary_rows(
    *, session: Session, project: Project, kind: str, page: PageRequest
) -> Page[LinkSummaryRow]:
    statement = (
        select(LinkSummaryRow)
        .where(col(LinkSummaryRow.project_id) == project.id, col(LinkSummaryRow.kind) == kind)
        .order_by(col(LinkSummaryRow.first_count).desc(), col(LinkSummaryRow.item))
    )
    return paginate(session, statement, page)


def summary_labels(kind: str) -> tuple[str, str]:
    return SUMMARY_COUNTS[kind]
