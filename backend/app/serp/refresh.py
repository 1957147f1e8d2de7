"""One refresh: check a project's due keywords through its provider, several at a time.

Checks overlap: a bounded thread pool (SERP_REFRESH_CONCURRENCY) keeps that many provider
calls in flight, all under the account's shared rate limit and the daily cap (budget.py),
while this thread records each outcome as it arrives (one session, one commit per keyword)
and reports progress by real checks.

How it ends:
- every due keyword checked (ranked, not in the top N, or failed): completed;
- the daily cap, or the provider's searches or balance, used up: the calls in flight finish,
  nothing more is sent, and the job completes saying why and how many keywords are left
  (they are the oldest-checked, so the next refresh takes them first);
- the credential refused: what was checked stays, the job fails (reconnect);
- UNAVAILABLE_IN_A_ROW checks in a row failing because the provider is unreachable: the job
  is retried later (TransientJobError) and resumes with what it has not checked.
"""

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import Session

from app.core.config import settings
from app.core.logging import get_logger
from app.jobs.errors import PermanentJobError, TransientJobError
from app.projects.models import Project
from app.serp import service
from app.serp.budget import RefreshHaltedError
from app.serp.client import (
    DATAFORSEO,
    DATAFORSEO_MAX_DEPTH,
    KeywordCheckError,
    KeywordQuery,
    SerpCheck,
    SerpProvider,
)
from app.serp.models import SerpKeyword
from app.serp.positions import site_rule

log = get_logger(__name__)

UNAVAILABLE_IN_A_ROW = 10

Progress = Callable[[int, int, str], None]  # (checked, total, message)


class _Skipped:
    """Not sent: the refresh was stopping."""


Outcome = (
    SerpCheck
    | KeywordCheckError
    | RefreshHaltedError
    | PermanentJobError
    | TransientJobError
    | _Skipped
)


@dataclass(slots=True)
class RefreshReport:
    due: int = 0
    checked: int = 0
    ranked: int = 0
    not_in_top_n: int = 0
    failed: int = 0
    requests: int = 0
    stopped: str | None = None
    errors: dict[str, str] = field(default_factory=dict)  # a few, keyword -> error

    @property
    def left(self) -> int:
        return self.due - self.checked

    def message(self, depth: int) -> str:
        text = (
            f"Checked {self.checked} of {self.due} keywords: {self.ranked} ranked, "
            f"{self.not_in_top_n} not in the top {depth}, {self.failed} failed"
        )
        if self.stopped:
            text += (
                f". Stopped: {self.stopped}; {self.left} keywords left for the next refresh "
                "(oldest-checked first)"
            )
        return text

    def result(self, depth: int) -> dict[str, Any]:
        return {
            "due": self.due,
            "checked": self.checked,
            "ranked": self.ranked,
            "not_in_top_n": self.not_in_top_n,
            "failed": self.failed,
            "left": self.left,
            "requests": self.requests,
            "depth": depth,
            "stopped": self.stopped,
            "errors": self.errors,
            "message": self.message(depth),
        }


def _keyword_ids(config: dict[str, Any]) -> list[uuid.UUID] | None:
    ids = config.get("keyword_ids")
    return None if ids is None else [uuid.UUID(str(i)) for i in ids]


def run_refresh(
    *,
    session: Session,
    project_id: uuid.UUID,
    config: dict[str, Any],
    progress: Progress,
    checkpoint: Callable[[], None],
    provider: SerpProvider | None = None,
    concurrency: int | None = None,
    job_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Checks the project's due keywords; `job_id` is the refresh job's, whose rank changes
    are recorded with the checks (service.record_checks)."""
    project = session.get(Project, project_id)
    if project is None:
        raise PermanentJobError("the project no longer exists", category="not_found")
    connection = service.get_connection(session=session, project=project)
    if connection is None and provider is None:
        raise PermanentJobError(service.NOT_CONNECTED, category="not_connected")
    since = dt.datetime.fromisoformat(str(config["since"]))
    due = service.due_keywords(
        session=session, project_id=project.id, since=since, keyword_ids=_keyword_ids(config)
    )
    with httpx.Client(timeout=settings.PROVIDER_HTTP_TIMEOUT) as http:
        if provider is None:
            assert connection is not None
            provider = service.provider_for(connection, http=http)
        depth = settings.SERP_CHECK_DEPTH
        if provider.name == DATAFORSEO:
            depth = min(depth, DATAFORSEO_MAX_DEPTH)
        run = _Refresh(
            session=session,
            project=project,
            provider=provider,
            depth=depth,
            progress=progress,
            checkpoint=checkpoint,
            concurrency=concurrency or settings.SERP_REFRESH_CONCURRENCY,
            job_id=job_id,
        )
        report = run.check_all(due)
    log.info("serp_refresh_done", project_id=str(project.id), **report.result(depth))
    return report.result(depth)


class _Refresh:
    def __init__(
        self,
        *,
        session: Session,
        project: Project,
        provider: SerpProvider,
        depth: int,
        progress: Progress,
        checkpoint: Callable[[], None],
        concurrency: int,
        job_id: uuid.UUID | None = None,
    ) -> None:
        self.session = session
        self.job_id = job_id
        self.provider = provider
        self.depth = depth
        self.progress = progress
        self.checkpoint = checkpoint
        self.concurrency = concurrency
        self.site = site_rule(project.site_url, include_subdomains=project.include_subdomains)
        self.stop = threading.Event()
        self.report = RefreshReport()
        self.fatal: Exception | None = None
        self.unavailable_in_a_row = 0

    def _check(self, query: KeywordQuery) -> Outcome:
        if self.stop.is_set():
            return _Skipped()
        try:
            return self.provider.check(query, self.site, self.depth)
        except (
            KeywordCheckError,
            RefreshHaltedError,
            PermanentJobError,
            TransientJobError,
        ) as exc:
            return exc

    def check_all(self, due: list[SerpKeyword]) -> RefreshReport:
        self.report.due = len(due)
        self.progress(0, len(due), f"Checking {len(due)} keywords")
        queue = iter(due)
        pending: dict[Future[Outcome], SerpKeyword] = {}
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="serp-check") as pool:

            def fill() -> None:
                while len(pending) < self.concurrency and not self.stop.is_set():
                    keyword = next(queue, None)
                    if keyword is None:
                        return
                    query = KeywordQuery(
                        text=keyword.text,
                        country=keyword.country,
                        language=keyword.language,
                        device=keyword.device,
                        location=keyword.location,
                    )
                    pending[pool.submit(self._check, query)] = keyword

            try:
                fill()
                while pending:
                    done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                    # What finished while the last batch was written is written together.
                    self._record([(pending.pop(f), f.result()) for f in done])
                    self.checkpoint()  # a cancel stops here
                    fill()
            except BaseException:
                self.stop.set()  # nothing more is sent
                self._drain(pending)
                raise
        if self.fatal is not None:
            raise self.fatal
        return self.report

    def _drain(self, pending: dict[Future[Outcome], SerpKeyword]) -> None:
        """On the way out (a cancel, the time limit): the calls in flight are paid for, so
        what they bring back is kept, if the database lets us."""
        try:
            finished = [(keyword, future.result()) for future, keyword in pending.items()]
            checks = self._tally(finished)
            service.record_checks(
                session=self.session,
                outcomes=checks,
                provider=self.provider.name,
                depth=self.depth,
                job_id=self.job_id,
            )
        except Exception as exc:
            self.session.rollback()
            log.warning("serp_refresh_drain_failed", error=repr(exc))

    def _record(self, finished: list[tuple[SerpKeyword, Outcome]]) -> None:
        checks = self._tally(finished)
        service.record_checks(
            session=self.session,
            outcomes=checks,
            provider=self.provider.name,
            depth=self.depth,
            job_id=self.job_id,
        )
        self.progress(self.report.checked, self.report.due, self.report.message(self.depth))

    def _tally(self, finished: list[tuple[SerpKeyword, Outcome]]) -> list[service.CheckOutcome]:
        report = self.report
        checks: list[service.CheckOutcome] = []
        for keyword, outcome in finished:
            if isinstance(outcome, SerpCheck):
                checks.append(service.CheckOutcome(keyword, outcome))
                report.requests += outcome.requests
                report.checked += 1
                if outcome.ranked:
                    report.ranked += 1
                else:
                    report.not_in_top_n += 1
                self.unavailable_in_a_row = 0
            elif isinstance(outcome, KeywordCheckError):
                checks.append(service.CheckOutcome(keyword, None, str(outcome)))
                report.requests += outcome.requests
                report.checked += 1
                report.failed += 1
                if len(report.errors) < 10:
                    report.errors[keyword.text] = str(outcome)[:300]
                self._note_failure(outcome)
            elif isinstance(outcome, RefreshHaltedError):
                self.stop.set()
                report.stopped = report.stopped or str(outcome)
            elif isinstance(outcome, PermanentJobError | TransientJobError):
                self.stop.set()
                self.fatal = self.fatal or outcome
        return checks

    def _note_failure(self, outcome: KeywordCheckError) -> None:
        self.unavailable_in_a_row = self.unavailable_in_a_row + 1 if outcome.unavailable else 0
        if self.unavailable_in_a_row >= UNAVAILABLE_IN_A_ROW and self.fatal is None:
            self.stop.set()
            self.fatal = TransientJobError(
                f"{self.provider.name}: {self.unavailable_in_a_row} checks in a row could not "
                f"reach the provider ({outcome}); the refresh resumes later",
                category="provider_unavailable",
            )
