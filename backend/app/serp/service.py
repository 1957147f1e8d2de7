"""Rank tracking: the provider connection, keywords (added one by one or in bulk, within the
per-project cap), refresh jobs (a project, one keyword, Beat's daily fan-out), recording
checks, and the reads (keywords with their changes, a keyword's history, visibility).

Functions are keyword-only and free of HTTP; the refresh itself is in refresh.py."""

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from app.connections import service as connections_service
from app.connections.models import ConnectionTestPublic, ProviderConnection
from app.core.config import settings
from app.core.db import utcnow
from app.core.pagination import Page, PageRequest, paginate
from app.jobs import service as jobs_service
from app.jobs.models import JobPriority, JobRun
from app.projects.models import Project
from app.projects.visibility import visible_project
from app.serp.budget import RequestGate, account_bucket
from app.serp.client import (
    DATAFORSEO,
    SERPAPI,
    DataForSeoClient,
    SerpApiClient,
    SerpCheck,
    SerpProvider,
)
from app.serp.domain import PROVIDER, SERP_REFRESH_JOB
from app.serp.intake import Candidate
from app.serp.models import (
    CheckStatus,
    DataForSeoConnection,
    KeywordCreate,
    KeywordHistoryPublic,
    KeywordPublic,
    KeywordRejection,
    KeywordsAddedPublic,
    RankMove,
    SerpApiConnection,
    SerpKeyword,
    SerpRankChange,
    SerpSnapshot,
    SnapshotPublic,
    TopResult,
    VisibilityDay,
    VisibilityPublic,
)
from app.users.models import User

REFRESH_STAGE = "refresh"
NOT_CONNECTED = "Rank tracking is not connected to a provider for this project"
MAX_REJECTIONS_SHOWN = 1000
MAX_RANGE_DAYS = 366
CHANGE_DAYS = (1, 7, 30)
ACCOUNT_CHECK_TIMEOUT = 10.0


class NotConnectedError(Exception):
    def __init__(self) -> None:
        super().__init__(NOT_CONNECTED)


# --- The connection --------------------------------------------------------------------------


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def _credential(body: SerpApiConnection | DataForSeoConnection) -> tuple[dict[str, str], str]:
    """The secret to store and the account people see of it."""
    if isinstance(body, SerpApiConnection):
        secret: dict[str, str] = {"api_key": body.api_key.strip()}
        return secret, f"SerpApi key #{_fingerprint(secret['api_key'])}"
    secret = {"login": body.login.strip(), "password": body.password}
    return secret, secret["login"]


def connect(
    *, session: Session, project: Project, body: SerpApiConnection | DataForSeoConnection
) -> ProviderConnection:
    """Stores the provider and its credential (encrypted); replaces an earlier one."""
    secret, account = _credential(body)
    return connections_service.save_connection(
        session=session,
        project=project,
        provider=PROVIDER,
        target=body.provider,
        account=account,
        secret=secret,
        settings={"provider": body.provider},
    )


def get_connection(*, session: Session, project: Project) -> ProviderConnection | None:
    return connections_service.get_connection(
        session=session, project_id=project.id, provider=PROVIDER
    )


def provider_for(
    connection: ProviderConnection, *, http: httpx.Client, with_gate: bool = True
) -> SerpProvider:
    """The connection's provider client; `with_gate`: every request under the account's
    shared rate limit and the daily cap (a refresh), else none (the free account check)."""
    return _provider(
        connection.target, connections_service.read_secret(connection), http, with_gate
    )


def _provider(
    target: str, secret: dict[str, str], http: httpx.Client, with_gate: bool
) -> SerpProvider:
    if target == SERPAPI:
        gate = RequestGate(
            bucket=account_bucket(SERPAPI, secret["api_key"], settings.SERPAPI_REQUESTS_PER_MINUTE)
        )
        return SerpApiClient(api_key=secret["api_key"], http=http, gate=gate if with_gate else None)
    if target == DATAFORSEO:
        gate = RequestGate(
            bucket=account_bucket(
                DATAFORSEO, secret["login"], settings.DATAFORSEO_REQUESTS_PER_MINUTE
            )
        )
        return DataForSeoClient(
            login=secret["login"],
            password=secret["password"],
            http=http,
            gate=gate if with_gate else None,
        )
    raise ValueError(f"unknown rank provider {target!r}")


def check_connection(
    *,
    session: Session,
    project: Project,
    body: SerpApiConnection | DataForSeoConnection | None = None,
) -> ConnectionTestPublic:
    """Asks the provider about the credential given (before it is saved), or else the stored
    one, free of charge: searches or balance left."""
    target: str
    if body is not None:
        target, (secret, _) = body.provider, _credential(body)
    else:
        connection = get_connection(session=session, project=project)
        if connection is None:
            raise NotConnectedError
        target, secret = connection.target, connections_service.read_secret(connection)
    # Someone is waiting for the answer: not a worker's 30 s.
    with httpx.Client(timeout=min(settings.PROVIDER_HTTP_TIMEOUT, ACCOUNT_CHECK_TIMEOUT)) as http:
        status = _provider(target, secret, http, with_gate=False).account()
    return ConnectionTestPublic(ok=status.ok, detail=status.detail, choices=[])


# --- Keywords ----------------------------------------------------------------------------------


def _identity(
    text: str, country: str, language: str, device: str, location: str | None
) -> tuple[str, str, str, str, str]:
    return (text.lower(), country, language, device, location or "")


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    message = str(first.get("msg", "invalid"))
    field = ".".join(str(p) for p in first.get("loc", ()))
    if first.get("type") == "missing":
        return f"no {field} given" if field != "text" else "no keyword given"
    message = message.removeprefix("Value error, ")
    return message if field in ("", "text") or field in message else f"{field}: {message}"


def add_keywords(
    *, session: Session, project: Project, candidates: Sequence[Candidate]
) -> KeywordsAddedPublic:
    """Adds every valid candidate that is neither a duplicate nor over the project's cap, and
    reports each rejected one with its line and why. Concurrent adds to one project are
    serialized (the project row is locked), so the cap holds."""
    session.execute(select(Project.id).where(col(Project.id) == project.id).with_for_update())
    existing = session.exec(
        select(SerpKeyword).where(col(SerpKeyword.project_id) == project.id)
    ).all()
    seen: dict[tuple[str, str, str, str, str], int | None] = {
        _identity(k.text, k.country, k.language, k.device, k.location): None for k in existing
    }
    cap = settings.MAX_KEYWORDS_PER_PROJECT
    count = len(existing)
    rejected: list[KeywordRejection] = []
    rejected_count = 0
    added: list[SerpKeyword] = []

    def reject(candidate: Candidate, reason: str) -> None:
        nonlocal rejected_count
        rejected_count += 1
        if len(rejected) < MAX_REJECTIONS_SHOWN:
            text = candidate.text if len(candidate.text) <= 80 else f"{candidate.text[:77]}..."
            rejected.append(KeywordRejection(line=candidate.line, text=text, reason=reason))

    now = utcnow()
    for candidate in candidates:
        try:
            keyword = KeywordCreate.model_validate(candidate.fields)
        except ValidationError as exc:
            reject(candidate, _reason(exc))
            continue
        identity = _identity(
            keyword.text, keyword.country, keyword.language, keyword.device, keyword.location
        )
        if identity in seen:
            line = seen[identity]
            reject(candidate, "duplicate" + (f" of line {line}" if line else " (already tracked)"))
            continue
        if count >= cap:
            reject(candidate, f"over the cap of {cap} keywords per project")
            continue
        seen[identity] = candidate.line
        count += 1
        added.append(SerpKeyword(project_id=project.id, created_at=now, **keyword.model_dump()))
    data = [_public(k) for k in added]  # before the commit expires them
    session.add_all(added)
    session.commit()
    return KeywordsAddedPublic(
        added=len(added), rejected=rejected, rejected_count=rejected_count, data=data
    )


def get_keyword_for_user(
    *, session: Session, keyword_id: uuid.UUID, user: User
) -> SerpKeyword | None:
    return session.exec(
        select(SerpKeyword).where(
            col(SerpKeyword.id) == keyword_id, visible_project(user, col(SerpKeyword.project_id))
        )
    ).first()


def delete_keyword(*, session: Session, project: Project, keyword_id: uuid.UUID) -> bool:
    keyword = session.get(SerpKeyword, keyword_id)
    if keyword is None or keyword.project_id != project.id:
        return False
    session.delete(keyword)
    session.commit()
    return True


KeywordSort = Literal["text", "position", "best_position", "checked_at", "created_at"]


@dataclass(frozen=True, slots=True)
class KeywordFilters:
    tag: str | None = None
    device: str | None = None
    country: str | None = None


def list_keywords(
    *,
    session: Session,
    project: Project,
    filters: KeywordFilters,
    sort: KeywordSort,
    descending: bool,
    page: PageRequest,
) -> Page[KeywordPublic]:
    statement = select(SerpKeyword).where(col(SerpKeyword.project_id) == project.id)
    if filters.tag:
        statement = statement.where(col(SerpKeyword.tags).any(filters.tag))  # type: ignore[arg-type]
    if filters.device:
        statement = statement.where(col(SerpKeyword.device) == filters.device)
    if filters.country:
        statement = statement.where(col(SerpKeyword.country) == filters.country)
    column = col(getattr(SerpKeyword, sort))
    ordered = column.desc() if descending else column.asc()
    statement = statement.order_by(ordered.nulls_last(), col(SerpKeyword.id))
    found = paginate(session, statement, page)
    changes = _changes(session, [k.id for k in found.rows])
    return found.with_rows([_public(k, changes.get(k.id)) for k in found.rows])


def _public(keyword: SerpKeyword, changes: dict[str, int | None] | None = None) -> KeywordPublic:
    public = KeywordPublic.model_validate(keyword, from_attributes=True)
    return public.model_copy(update=changes) if changes else public


def _changes(
    session: Session, keyword_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int | None]]:
    """change_1d/7d/30d per keyword: from its latest completed check back to the latest
    completed check at least N days before it (failed checks are skipped, not zeros)."""
    if not keyword_ids:
        return {}
    since = utcnow().date() - dt.timedelta(days=MAX_RANGE_DAYS)
    rows = session.execute(
        select(SerpSnapshot.keyword_id, SerpSnapshot.checked_on, SerpSnapshot.position)  # type: ignore[call-overload]
        .where(
            col(SerpSnapshot.keyword_id).in_(keyword_ids),
            col(SerpSnapshot.status) != CheckStatus.failed,
            col(SerpSnapshot.checked_on) >= since,
        )
        .order_by(col(SerpSnapshot.keyword_id), col(SerpSnapshot.checked_on).desc())
    ).all()
    history: dict[uuid.UUID, list[tuple[dt.date, int | None]]] = {}
    for keyword_id, checked_on, position in rows:
        history.setdefault(keyword_id, []).append((checked_on, position))
    changes: dict[uuid.UUID, dict[str, int | None]] = {}
    for keyword_id, days in history.items():
        latest_day, latest = days[0]
        figures: dict[str, int | None] = {}
        for n in CHANGE_DAYS:
            before = next((p for d, p in days if d <= latest_day - dt.timedelta(days=n)), None)
            figures[f"change_{n}d"] = before - latest if before and latest else None
        changes[keyword_id] = figures
    return changes


def _range(
    start: dt.date | None, end: dt.date | None, *, default_days: int
) -> tuple[dt.date, dt.date]:
    end = end or utcnow().date()
    start = start or end - dt.timedelta(days=default_days - 1)
    if start > end:
        raise ValueError("start must not be after end")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"at most {MAX_RANGE_DAYS} days at once")
    return start, end


def keyword_history(
    *, session: Session, keyword: SerpKeyword, start: dt.date | None, end: dt.date | None
) -> KeywordHistoryPublic:
    first, last = _range(start, end, default_days=settings.SERP_SNAPSHOT_RETENTION_DAYS)
    snapshots = session.exec(
        select(SerpSnapshot)
        .where(
            col(SerpSnapshot.keyword_id) == keyword.id,
            col(SerpSnapshot.checked_on) >= first,
            col(SerpSnapshot.checked_on) <= last,
        )
        .order_by(col(SerpSnapshot.checked_on))
    ).all()
    changes = _changes(session, [keyword.id]).get(keyword.id)
    return KeywordHistoryPublic(
        keyword=_public(keyword, changes),
        data=[
            SnapshotPublic(
                date=s.checked_on,
                checked_at=s.checked_at,
                status=CheckStatus(s.status),
                position=s.position,
                url=s.url,
                depth=s.depth,
                provider=s.provider,
                top_results=[TopResult.model_validate(r) for r in s.top_results],
                error=s.error,
            )
            for s in snapshots
        ],
    )


_VISIBILITY = sa.text("""
    SELECT checked_on, count(*) AS keywords,
           count(*) FILTER (WHERE position <= 3) AS top3,
           count(*) FILTER (WHERE position <= 10) AS top10,
           count(*) FILTER (WHERE position <= 100) AS top100
    FROM serp_snapshots
    WHERE project_id = :project_id AND checked_on BETWEEN :start AND :end
      AND status <> 'failed'
    GROUP BY checked_on
    ORDER BY checked_on
""")


def visibility(
    *, session: Session, project: Project, start: dt.date | None, end: dt.date | None
) -> VisibilityPublic:
    """Per day, the share of the keywords checked that day that ranked in the top 3, 10 and
    100 (failed checks are not counted either way)."""
    first, last = _range(start, end, default_days=30)
    rows = session.execute(
        _VISIBILITY, {"project_id": project.id, "start": first, "end": last}
    ).all()
    return VisibilityPublic(
        start=first,
        end=last,
        data=[
            VisibilityDay(
                date=day,
                keywords=total,
                top3=round(top3 / total, 4),
                top10=round(top10 / total, 4),
                top100=round(top100 / total, 4),
            )
            for day, total, top3, top10, top100 in rows
        ],
    )


# --- Refresh jobs ------------------------------------------------------------------------------


def _require_connection(session: Session, project: Project) -> None:
    if get_connection(session=session, project=project) is None:
        raise NotConnectedError


def start_refresh(*, session: Session, project: Project, user: User | None) -> tuple[JobRun, bool]:
    """Checks every keyword of the project now (or returns its active refresh)."""
    _require_connection(session, project)
    return jobs_service.start_job(
        session=session,
        job_type=SERP_REFRESH_JOB,
        stage=REFRESH_STAGE,
        project=project,
        user=user,
        priority=JobPriority.interactive,
        config={"since": utcnow().isoformat()},
        dedupe_key=f"{SERP_REFRESH_JOB}:{project.id}",
    )


def start_keyword_refresh(
    *, session: Session, keyword: SerpKeyword, user: User | None
) -> tuple[JobRun, bool]:
    project = session.get(Project, keyword.project_id)
    assert project is not None  # the keyword's foreign key
    _require_connection(session, project)
    return jobs_service.start_job(
        session=session,
        job_type=SERP_REFRESH_JOB,
        stage=REFRESH_STAGE,
        project=project,
        user=user,
        priority=JobPriority.interactive,
        config={"since": utcnow().isoformat(), "keyword_ids": [str(keyword.id)]},
        dedupe_key=f"{SERP_REFRESH_JOB}:{project.id}:{keyword.id}",
    )


def start_scheduled_refresh(session: Session, project: Project) -> tuple[JobRun, bool]:
    """Beat's start: one refresh per project per UTC day, however many Beats fire. Keywords
    already checked today (a manual refresh) are not checked again."""
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return jobs_service.start_job(
        session=session,
        job_type=SERP_REFRESH_JOB,
        stage=REFRESH_STAGE,
        project=project,
        user=None,
        priority=JobPriority.scheduled,
        config={"since": today.isoformat(), "scheduled": True},
        dedupe_key=jobs_service.day_dedupe_key(SERP_REFRESH_JOB, project.id),
        once=True,
    )


def refresh_all_due_keywords(*, session: Session) -> connections_service.FanOutResult:
    return connections_service.fan_out(
        session=session, provider=PROVIDER, start=start_scheduled_refresh
    )


# --- Recording checks (the refresh calls these) ----------------------------------------------


def due_keywords(
    *,
    session: Session,
    project_id: uuid.UUID,
    since: dt.datetime,
    keyword_ids: Sequence[uuid.UUID] | None = None,
) -> list[SerpKeyword]:
    """The keywords a refresh checks: not checked (or checked and failed) since `since`,
    oldest-checked first, so what a capped day left goes first next time."""
    statement = select(SerpKeyword).where(
        col(SerpKeyword.project_id) == project_id,
        sa.or_(
            col(SerpKeyword.checked_at).is_(None),
            col(SerpKeyword.checked_at) < since,
            col(SerpKeyword.status) == CheckStatus.failed,
        ),
    )
    if keyword_ids is not None:
        statement = statement.where(col(SerpKeyword.id).in_(keyword_ids))
    statement = statement.order_by(
        col(SerpKeyword.checked_at).asc().nulls_first(),
        col(SerpKeyword.created_at),
        col(SerpKeyword.id),
    )
    return list(session.exec(statement).all())


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """A keyword's check: completed (`check`) or failed (`error`)."""

    keyword: SerpKeyword
    check: SerpCheck | None
    error: str | None = None


def _snapshot_values(outcome: CheckOutcome, provider: str, depth: int) -> dict[str, Any]:
    check = outcome.check
    if check is None:
        return {
            "status": CheckStatus.failed.value,
            "position": None,
            "url": None,
            "depth": depth,
            "provider": provider,
            "top_results": [],
            "error": (outcome.error or "the check failed")[:500],
        }
    return {
        "status": (CheckStatus.ranked if check.ranked else CheckStatus.not_in_top_n).value,
        "position": check.position,
        "url": check.url,
        "depth": check.depth,
        "provider": provider,
        "top_results": [
            {"position": r.position, "url": r.url, "title": r.title} for r in check.top
        ],
        "error": None,
    }


# Each keyword's latest completed check (failed days never replace a good one, so the latest
# snapshot that did not fail is it), read before a check is recorded.
_PREVIOUS_CHECKS = sa.text("""
    SELECT DISTINCT ON (keyword_id) keyword_id, status, position, url, depth, checked_on
    FROM serp_snapshots
    WHERE keyword_id = ANY(CAST(:ids AS uuid[])) AND status <> 'failed'
    ORDER BY keyword_id, checked_on DESC
""")


def record_checks(
    *,
    session: Session,
    outcomes: Sequence[CheckOutcome],
    provider: str,
    depth: int,
    job_id: uuid.UUID | None = None,
) -> None:
    """Records checks (one statement for the snapshots, one for the keywords) and commits.
    The day's snapshot is replaced by a later check that day unless that one failed and the
    day's did not: a failure never erases a position. With `job_id`, each completed check
    that moved its keyword against the previous completed check is also recorded as the
    job's rank change (SerpRankChange), in the same transaction."""
    if not outcomes:
        return
    now = utcnow()
    if job_id is not None:
        _record_changes(session, outcomes, job_id=job_id, now=now)
    rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for outcome in outcomes:
        values = _snapshot_values(outcome, provider, depth)
        keyword = outcome.keyword
        rows.append(
            {
                "id": uuid.uuid4(),
                "keyword_id": keyword.id,
                "project_id": keyword.project_id,
                "checked_on": now.date(),
                "checked_at": now,
                **values,
            }
        )
        position = values["position"]
        best = keyword.best_position
        if position is not None and (best is None or position < best):
            best = position
        updates.append(
            {
                "id": keyword.id,
                "status": values["status"],
                "position": position,
                "url": values["url"],
                "checked_at": now,
                "error": values["error"],
                "best_position": best,
            }
        )
    statement = insert(SerpSnapshot).values(rows)
    excluded = statement.excluded
    replaced = ("checked_at", *_snapshot_values(outcomes[0], provider, depth))
    session.execute(
        statement.on_conflict_do_update(
            constraint="uq_serp_snapshots_keyword_id",
            set_={name: excluded[name] for name in replaced},
            where=sa.or_(
                excluded.status != CheckStatus.failed.value,
                SerpSnapshot.__table__.c.status == CheckStatus.failed.value,  # type: ignore[attr-defined]
            ),
        )
    )
    session.execute(sa.update(SerpKeyword), updates)  # by primary key, one round trip
    session.commit()


def _record_changes(
    session: Session, outcomes: Sequence[CheckOutcome], *, job_id: uuid.UUID, now: dt.datetime
) -> None:
    completed = [o for o in outcomes if o.check is not None]
    if not completed:
        return
    previous = {
        row.keyword_id: row
        for row in session.execute(
            _PREVIOUS_CHECKS, {"ids": [o.keyword.id for o in completed]}
        ).all()
    }
    changes: list[dict[str, Any]] = []
    for outcome in completed:
        check = outcome.check
        before = previous.get(outcome.keyword.id)
        assert check is not None
        if before is None or (before.position, before.url) == (check.position, check.url):
            continue  # never checked before, or where it was
        if before.position is None and check.position is None:
            continue  # not found either time
        changes.append(
            {
                "job_id": job_id,
                "keyword_id": outcome.keyword.id,
                "project_id": outcome.keyword.project_id,
                "checked_at": now,
                "previous_status": before.status,
                "previous_position": before.position,
                "previous_url": before.url,
                "previous_depth": before.depth,
                "previous_checked_on": before.checked_on,
                "status": (CheckStatus.ranked if check.ranked else CheckStatus.not_in_top_n).value,
                "position": check.position,
                "url": check.url,
                "depth": check.depth,
            }
        )
    if changes:
        statement = insert(SerpRankChange).values(changes)
        # A keyword checked again by the same job (a retried attempt): the latest check,
        # against the baseline the first one saw.
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["job_id", "keyword_id"],
                set_={
                    name: statement.excluded[name]
                    for name in ("checked_at", "status", "position", "url", "depth")
                },
            )
        )


_MOVES = sa.select(
    col(SerpRankChange.keyword_id),
    col(SerpRankChange.project_id),
    col(SerpKeyword.text),
    col(SerpKeyword.country),
    col(SerpKeyword.language),
    col(SerpKeyword.device),
    col(SerpKeyword.location),
    col(SerpRankChange.previous_position),
    col(SerpRankChange.previous_url),
    col(SerpRankChange.previous_depth),
    col(SerpRankChange.position),
    col(SerpRankChange.url),
    col(SerpRankChange.depth),
    col(SerpRankChange.checked_at),
).join(SerpKeyword, col(SerpKeyword.id) == col(SerpRankChange.keyword_id))


def rank_drops(*, session: Session, job_id: uuid.UUID, more_than: int) -> list[RankMove]:
    """The keywords a refresh job found more than `more_than` places lower than at their
    previous completed check (models.places_lost: falling out of the checked depth counts
    as position depth + 1), biggest drop first."""
    moves = [
        RankMove(*row)
        for row in session.execute(_MOVES.where(col(SerpRankChange.job_id) == job_id)).all()
    ]
    drops = [m for m in moves if (m.places_lost or 0) > more_than]
    return sorted(drops, key=lambda m: (-(m.places_lost or 0), m.text))


def rank_movers(
    *,
    session: Session,
    project_ids: Sequence[uuid.UUID],
    start: dt.datetime,
    end: dt.datetime,
) -> dict[uuid.UUID, list[RankMove]]:
    """Per project, each keyword's move over [start, end): from the previous check of its
    first change in the window to its last change there (the same rank changes rank.dropped
    is made of); moves that came back to where they were are left out. Biggest moves first,
    drops before gains of the same size."""
    if not project_ids:
        return {}
    rows = session.execute(
        _MOVES.where(
            col(SerpRankChange.project_id).in_(project_ids),
            col(SerpRankChange.checked_at) >= start,
            col(SerpRankChange.checked_at) < end,
        ).order_by(col(SerpRankChange.checked_at))
    ).all()
    net: dict[uuid.UUID, RankMove] = {}
    for row in rows:
        move = RankMove(*row)
        first = net.get(move.keyword_id)
        if first is not None:  # keep where it started, take where it ended
            move = replace(
                move,
                previous_position=first.previous_position,
                previous_url=first.previous_url,
                previous_depth=first.previous_depth,
            )
        net[move.keyword_id] = move
    movers: dict[uuid.UUID, list[RankMove]] = {}
    for move in net.values():
        if move.places_lost:
            movers.setdefault(move.project_id, []).append(move)
    for moves in movers.values():
        moves.sort(key=lambda m: (-abs(m.places_lost or 0), -(m.places_lost or 0), m.text))
    return movers


def purge_old_rank_changes(session: Session, batch: int) -> int:
    """Deletes at most `batch` rank changes older than SERP_SNAPSHOT_RETENTION_DAYS."""
    cutoff = utcnow() - dt.timedelta(days=settings.SERP_SNAPSHOT_RETENTION_DAYS)
    result = session.execute(
        sa.text(
            "DELETE FROM serp_rank_changes WHERE (job_id, keyword_id) IN (SELECT job_id, "
            "keyword_id FROM serp_rank_changes WHERE checked_at < :cutoff LIMIT :batch)"
        ),
        {"cutoff": cutoff, "batch": batch},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def purge_old_snapshots(session: Session, batch: int) -> int:
    """Deletes at most `batch` snapshots older than SERP_SNAPSHOT_RETENTION_DAYS."""
    cutoff = utcnow().date() - dt.timedelta(days=settings.SERP_SNAPSHOT_RETENTION_DAYS)
    result = session.execute(
        sa.text(
            "DELETE FROM serp_snapshots WHERE id IN (SELECT id FROM serp_snapshots "
            "WHERE checked_on < :cutoff LIMIT :batch)"
        ),
        {"cutoff": cutoff, "batch": batch},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
