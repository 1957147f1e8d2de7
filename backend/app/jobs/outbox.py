"""The outbox of terminal transitions (docs/architecture.md, "The job seam").

Every statement that moves a job into `completed`, `failed` or `cancelled` is wrapped by
`with_job_event`: one data-modifying CTE that makes the transition and appends its row to
`job_events`, so the two commit together or not at all, in the same round trip. A job ends
once, so the row's key is (job_id, event) and a transition replayed (a statement retried
after its connection died) adds nothing. The runtime knows nothing of who reads the rows;
consumers (notifications) claim them with `app.jobs.service.claim_job_events` and mark them
processed in their own transaction.
"""

# The f-strings compose this module's constants and the callers' constant fragments only.
# ruff: noqa: S608

from app.jobs.models import JobEventKind

_EVENT_COLUMNS = (
    "id AS _event_job_id, attempts AS _event_attempt, job_type AS _event_job_type, "
    "project_id AS _event_project_id, finished_at AS _event_at"
)


def with_job_event(update: str, *, event: JobEventKind, returning: str, columns: str) -> str:
    """`update` (an `UPDATE job_runs SET ... WHERE ...` without RETURNING, setting
    `finished_at`) as a statement that also appends the transition's `job_events` row.
    `returning` lists the caller's expressions with their aliases, `columns` those aliases:
    the statement answers them for each job moved, as the bare UPDATE ... RETURNING would."""
    return f"""
    WITH done AS ({update} RETURNING {returning}, {_EVENT_COLUMNS}),
    appended AS (
        INSERT INTO job_events (job_id, event, attempt, job_type, project_id, occurred_at)
        SELECT _event_job_id, '{event.value}', _event_attempt, _event_job_type,
               _event_project_id, _event_at
        FROM done
        ON CONFLICT DO NOTHING
    )
    SELECT {columns} FROM done
    """
