"""job rollups: counts by queued hour/day, finishes by finished hour/day (per project, per
owner and platform-wide), lifetime counters; statement-level triggers on job_runs append
what each write changes to job_rollup_deltas, folded into the rollups by job_rollups_fold()
(app.jobs.rollups)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:30:00.000000

The SQL is written out here, frozen with this revision: a later change of the rollups is a
new migration replacing the functions.
"""

# The statements are composed of this module's constants only, never of input.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of app.jobs.rollups' constants (tests/jobs/test_rollups.py checks they agree).
NO_PROJECT = "'00000000-0000-0000-0000-000000000000'::uuid"
HISTOGRAM_BUCKETS = 112
STEPS_PER_DOUBLING = 4
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
PICKUP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 120.0)
STATUSES = ("queued", "running", "retrying", "completed", "failed", "cancelled")
TERMINAL = "('completed', 'failed', 'cancelled')"
GRAINS = "(VALUES ('hour'), ('day')) AS grains(grain)"
# Each job counts in three scopes: its project (or NO_PROJECT), its project's owner (the
# visibility rule's data form: an owner sees their projects' jobs) and the whole platform.
SCOPES = f"""CROSS JOIN LATERAL (VALUES
        ('project', coalesce(c.project_id, {NO_PROJECT})),
        ('owner', c.owner_id),
        ('all', {NO_PROJECT})
    ) AS scopes(scope, scope_id)"""
COLUMNS = "project_id, job_type, status, queued_at, started_at, finished_at, attempts"
# What the rollups read of a row; an UPDATE changing none of these changes no rollup.
ROLLED_UP = "status, queued_at, started_at, finished_at, project_id, job_type, attempts"


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{name.strip()}" for name in columns.split(","))


def _sum(values: list[str]) -> str:
    return ", ".join(values)


def counts_upsert(source: str, *, owned: bool = False) -> str:
    """Adds `source`'s rows (with their `sign`) to jobs by queued hour/day and status;
    `owned`: the rows already carry their project's `owner_id`."""
    per_status = _sum(
        [f"coalesce(sum(c.sign) FILTER (WHERE c.status = '{s}'), 0)" for s in STATUSES]
    )
    merge = _sum([f"{s} = t.{s} + EXCLUDED.{s}" for s in STATUSES])
    return f"""
    INSERT INTO job_counts_rollup AS t
        (scope, scope_id, grain, bucket_start, job_type, {", ".join(STATUSES)})
    SELECT scope, scope_id, grain, date_trunc(grain, c.queued_at, 'UTC'), c.job_type, {per_status}
    FROM {source if owned else _owned(source)} AS c CROSS JOIN {GRAINS} {SCOPES}
    WHERE scope_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5  -- rollup rows locked in one order: no deadlocks
    ON CONFLICT (scope, scope_id, grain, bucket_start, job_type) DO UPDATE SET {merge}
    """


def _owned(source: str) -> str:
    """`source`'s rows with their project's owner. OFFSET 0 keeps the planner from copying
    the computed columns into each of the aggregates below."""
    return (
        f"(SELECT r.*, p.owner_id FROM {source} AS r "
        f"LEFT JOIN projects AS p ON p.id = r.project_id OFFSET 0)"
    )


def finishes_upsert(source: str, *, owned: bool = False) -> str:
    """Adds `source`'s started and finished rows to outcomes and histograms by finish time."""

    def histogram(column: str, condition: str) -> str:
        cells = [
            f"coalesce(sum(c.sign) FILTER (WHERE {condition}c.{column} = {i}), 0)"
            for i in range(1, HISTOGRAM_BUCKETS + 1)
        ]
        return f"ARRAY[{_sum(cells)}]"

    return f"""
    INSERT INTO job_finishes_rollup AS t
        (scope, scope_id, grain, bucket_start, completed, failed, run_seconds, pickup_seconds)
    SELECT scope, scope_id, grain, date_trunc(grain, c.finished_at, 'UTC'),
           coalesce(sum(c.sign) FILTER (WHERE c.status = 'completed'), 0),
           coalesce(sum(c.sign) FILTER (WHERE c.status = 'failed'), 0),
           {histogram("run_bucket", "c.status = 'completed' AND ")},
           {histogram("pickup_bucket", "")}
    FROM (
        SELECT s.*,
            job_seconds_bucket(extract(epoch FROM s.finished_at - s.started_at)::float8)
                AS run_bucket,
            job_seconds_bucket(extract(epoch FROM s.started_at - s.queued_at)::float8)
                AS pickup_bucket
        FROM {source if owned else _owned(source)} AS s
        WHERE s.finished_at IS NOT NULL AND s.started_at IS NOT NULL
        OFFSET 0
    ) AS c CROSS JOIN {GRAINS} {SCOPES}
    WHERE scope_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (scope, scope_id, grain, bucket_start) DO UPDATE SET
        completed = t.completed + EXCLUDED.completed,
        failed = t.failed + EXCLUDED.failed,
        run_seconds = job_histogram_add(t.run_seconds, EXCLUDED.run_seconds),
        pickup_seconds = job_histogram_add(t.pickup_seconds, EXCLUDED.pickup_seconds)
    """


def counters_upsert(events: str) -> str:
    """Adds the starts and finishes among `events` (rows with is_start / is_finish)."""

    def cumulative(seconds: str, event: str, bounds: tuple[float, ...]) -> str:
        cells = [f"count(*) FILTER (WHERE e.{event} AND e.{seconds} <= {b!r})" for b in bounds]
        return f"ARRAY[{_sum(cells)}]::bigint[]"

    finished = _sum(
        [f"count(*) FILTER (WHERE e.is_finish AND e.status = '{s}')" for s in STATUSES[3:]]
    )
    return f"""
    INSERT INTO job_counters AS t
        (job_type, started, completed, failed, cancelled, extra_runs,
         run_count, run_seconds_sum, run_seconds_le,
         pickup_count, pickup_seconds_sum, pickup_seconds_le)
    SELECT e.job_type,
           count(*) FILTER (WHERE e.is_start),
           {finished},
           coalesce(sum(greatest(e.attempts - 1, 0)) FILTER (WHERE e.is_finish), 0),
           count(*) FILTER (WHERE e.is_finish AND e.run_s IS NOT NULL),
           coalesce(sum(e.run_s) FILTER (WHERE e.is_finish), 0),
           {cumulative("run_s", "is_finish", DURATION_BUCKETS)},
           count(*) FILTER (WHERE e.is_start),
           coalesce(sum(e.pickup_s) FILTER (WHERE e.is_start), 0),
           {cumulative("pickup_s", "is_start", PICKUP_BUCKETS)}
    FROM (
        SELECT v.*,
            extract(epoch FROM v.finished_at - v.started_at)::float8 AS run_s,
            extract(epoch FROM v.started_at - v.queued_at)::float8 AS pickup_s
        FROM {events} AS v WHERE v.is_start OR v.is_finish
        OFFSET 0
    ) AS e
    GROUP BY e.job_type
    ORDER BY e.job_type
    ON CONFLICT (job_type) DO UPDATE SET
        started = t.started + EXCLUDED.started,
        completed = t.completed + EXCLUDED.completed,
        failed = t.failed + EXCLUDED.failed,
        cancelled = t.cancelled + EXCLUDED.cancelled,
        extra_runs = t.extra_runs + EXCLUDED.extra_runs,
        run_count = t.run_count + EXCLUDED.run_count,
        run_seconds_sum = t.run_seconds_sum + EXCLUDED.run_seconds_sum,
        run_seconds_le = job_histogram_add(t.run_seconds_le, EXCLUDED.run_seconds_le),
        pickup_count = t.pickup_count + EXCLUDED.pickup_count,
        pickup_seconds_sum = t.pickup_seconds_sum + EXCLUDED.pickup_seconds_sum,
        pickup_seconds_le = job_histogram_add(t.pickup_seconds_le, EXCLUDED.pickup_seconds_le)
    """


def _rows(table: str, sign: int) -> str:
    return f"(SELECT {COLUMNS}, {sign} AS sign FROM {table})"


def _new_events(table: str) -> str:
    return (
        f"(SELECT {COLUMNS}, started_at IS NOT NULL AS is_start, "
        f"status IN {TERMINAL} AS is_finish FROM {table})"
    )


_CHANGED = f"({_prefixed('o', ROLLED_UP)}) IS DISTINCT FROM ({_prefixed('n', ROLLED_UP)})"
_UPDATED = f"""(
    SELECT {_prefixed("o", COLUMNS)}, -1 AS sign, false AS is_start, false AS is_finish
    FROM old_rows AS o JOIN new_rows AS n USING (id) WHERE {_CHANGED}
    UNION ALL
    SELECT {_prefixed("n", COLUMNS)}, 1 AS sign,
        o.started_at IS NULL AND n.started_at IS NOT NULL AS is_start,
        o.status NOT IN {TERMINAL} AND n.status IN {TERMINAL} AS is_finish
    FROM old_rows AS o JOIN new_rows AS n USING (id) WHERE {_CHANGED}
)"""
_INSERTED = f"""(
    SELECT {COLUMNS}, 1 AS sign, started_at IS NOT NULL AS is_start,
        status IN {TERMINAL} AS is_finish
    FROM new_rows
)"""
_DELETED = f"(SELECT {COLUMNS}, -1 AS sign, false AS is_start, false AS is_finish FROM old_rows)"

# One row per job and change: what it adds (sign 1) or takes back (sign -1), with its
# project's owner as of now (a project's jobs are deleted before it), and whether the change
# is the job's start or finish (the counters of /metrics).
DELTA_COLUMNS = (
    "sign, is_start, is_finish, owner_id, project_id, job_type, status, queued_at, "
    "started_at, finished_at, attempts"
)
# Transaction-level advisory lock key of the fold: one fold at a time.
FOLD_LOCK = 0x6A6F6273


def _append(rows: str) -> str:
    """Appends `rows`' deltas: one INSERT, no shared row updated, so no writer waits."""
    return f"""
    INSERT INTO job_rollup_deltas ({DELTA_COLUMNS})
    SELECT r.sign, r.is_start, r.is_finish, p.owner_id, {_prefixed("r", COLUMNS)}
    FROM {rows} AS r LEFT JOIN projects AS p ON p.id = r.project_id
    """


_FOLD = f"""
    WITH d AS (DELETE FROM job_rollup_deltas RETURNING *),
    counts AS ({counts_upsert("d", owned=True)}),
    finishes AS ({finishes_upsert("d", owned=True)}),
    counters AS ({counters_upsert("d")})
    SELECT count(*) FROM d
"""

FUNCTIONS = [
    f"""
    CREATE FUNCTION job_seconds_bucket(seconds double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN seconds IS NULL OR seconds < 0.001 THEN 1
               ELSE least({HISTOGRAM_BUCKETS},
                          2 + floor({STEPS_PER_DOUBLING} * ln(seconds * 1000) / ln(2))::integer)
               END
    $$
    """,
    """
    CREATE FUNCTION job_histogram_add(a bigint[], b bigint[]) RETURNS bigint[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        -- Element by element (a third cheaper per finish than unnest + array_agg).
        SELECT ARRAY(SELECT a[i] + b[i] FROM generate_series(1, cardinality(a)) AS i)
    $$
    """,
    f"""
    CREATE FUNCTION job_rollups_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_append(_INSERTED)};
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION job_rollups_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Progress writes and heartbeats change nothing rolled up: no row appended.
        {_append(_UPDATED)};
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION job_rollups_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_append(_DELETED)};
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION job_rollups_fold(wait boolean DEFAULT true) RETURNS bigint
    -- The planner's estimate of the pending deltas (the table's last statistics) can cross
    -- jit_above_cost: compiling the fold's hundreds of aggregates costs ~120 ms, more than
    -- folding 10,000 deltas.
    LANGUAGE plpgsql SET jit = off AS $$
    DECLARE
        folded bigint;
    BEGIN
        -- One fold at a time (the lock ends with the transaction): a reader waits for the
        -- fold under way, then folds what was committed since; a sweep skips instead.
        IF wait THEN
            PERFORM pg_advisory_xact_lock({FOLD_LOCK});
        ELSIF NOT pg_try_advisory_xact_lock({FOLD_LOCK}) THEN
            RETURN NULL;
        END IF;
        {_FOLD} INTO folded;
        RETURN folded;
    END
    $$
    """,
    """
    CREATE FUNCTION job_rollups_project_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- The project's jobs go first, while the project (and its owner) can still be read
        -- by the rollups' delete trigger; the foreign key's cascade then finds none.
        DELETE FROM job_runs WHERE project_id = OLD.id;
        RETURN OLD;
    END
    $$
    """,
]

TRIGGERS = [
    """CREATE TRIGGER job_rollups_insert AFTER INSERT ON job_runs
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION job_rollups_insert()""",
    """CREATE TRIGGER job_rollups_update AFTER UPDATE ON job_runs
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION job_rollups_update()""",
    """CREATE TRIGGER job_rollups_delete AFTER DELETE ON job_runs
       REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION job_rollups_delete()""",
    """CREATE TRIGGER job_rollups_project_deleted BEFORE DELETE ON projects
       FOR EACH ROW EXECUTE FUNCTION job_rollups_project_deleted()""",
]


def _bucket_table(name: str, *columns: sa.Column[object], keys: list[str]) -> None:
    op.create_table(
        name,
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.Uuid(), nullable=False),
        sa.Column("grain", sa.String(length=4), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint(*keys, name=op.f(f"pk_{name}")),
    )


def _count(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def _histogram(name: str) -> sa.Column[object]:
    return sa.Column(name, postgresql.ARRAY(sa.BigInteger()), nullable=False)


def upgrade() -> None:
    _bucket_table(
        "job_counts_rollup",
        sa.Column("job_type", sa.String(length=32), nullable=False),
        *[_count(status) for status in STATUSES],
        keys=["scope", "scope_id", "grain", "bucket_start", "job_type"],
    )
    _bucket_table(
        "job_finishes_rollup",
        _count("completed"),
        _count("failed"),
        _histogram("run_seconds"),
        _histogram("pickup_seconds"),
        keys=["scope", "scope_id", "grain", "bucket_start"],
    )
    op.create_table(
        "job_counters",
        sa.Column("job_type", sa.String(length=32), nullable=False),
        *[_count(name) for name in ("started", "completed", "failed", "cancelled", "extra_runs")],
        _count("run_count"),
        sa.Column("run_seconds_sum", sa.Float(), nullable=False),
        _histogram("run_seconds_le"),
        _count("pickup_count"),
        sa.Column("pickup_seconds_sum", sa.Float(), nullable=False),
        _histogram("pickup_seconds_le"),
        sa.PrimaryKeyConstraint("job_type", name=op.f("pk_job_counters")),
    )
    op.create_table(
        "job_rollup_deltas",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("sign", sa.SmallInteger(), nullable=False),
        sa.Column("is_start", sa.Boolean(), nullable=False),
        sa.Column("is_finish", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("job_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_rollup_deltas")),
    )
    for statement in FUNCTIONS:
        op.execute(statement)
    # The jobs already there, as if inserted now; then the triggers keep the rollups.
    op.execute("LOCK TABLE job_runs IN SHARE MODE")
    op.execute(counts_upsert(_rows("job_runs", 1)))
    op.execute(finishes_upsert(_rows("job_runs", 1)))
    op.execute(counters_upsert(_new_events("job_runs")))
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER job_rollups_project_deleted ON projects")
    for trigger in ("job_rollups_insert", "job_rollups_update", "job_rollups_delete"):
        op.execute(f"DROP TRIGGER {trigger} ON job_runs")
    for function in (
        "job_rollups_insert",
        "job_rollups_update",
        "job_rollups_delete",
        "job_rollups_project_deleted",
    ):
        op.execute(f"DROP FUNCTION {function}()")
    op.execute("DROP FUNCTION job_rollups_fold(boolean)")
    op.execute("DROP FUNCTION job_histogram_add(bigint[], bigint[])")
    op.execute("DROP FUNCTION job_seconds_bucket(double precision)")
    op.drop_table("job_rollup_deltas")
    op.drop_table("job_counters")
    op.drop_table("job_finishes_rollup")
    op.drop_table("job_counts_rollup")
