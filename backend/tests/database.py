"""Creating the dedicated test database and emptying it between tests."""

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url


def _plain_dsn(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


def recreate_database(url: str) -> None:
    name = make_url(url).database
    if not name or "test" not in name:
        raise RuntimeError(f"refusing to recreate a non-test database: {name!r}")
    with psycopg.connect(_plain_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def truncate_all_tables() -> None:
    from sqlmodel import SQLModel

    from app.core.db import engine

    # Dependents first: TRUNCATE locks in this order, and a worker still finishing a job
    # locks job_runs before the rollups its triggers write (the other order deadlocks).
    tables = ", ".join(f'"{table.name}"' for table in reversed(SQLModel.metadata.sorted_tables))
    if tables:
        with engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
