"""Many clients at once on the ordinary (sync) routes of one API process with a small
connection pool: every request is answered, none waits for the pool timeout.

Sync routes run in a bounded thread pool and hold their connection until the request ends;
without admission control, requests holding connections wait for threads held by requests
waiting for connections, and the burst deadlocks (every request timed out here)."""

import asyncio
from pathlib import Path

import httpx
from sqlmodel import Session

from tests.builders import auth_headers, create_project, create_user
from tests.core.processes import running_api

CLIENTS = 80


async def _hammer(base: str, headers: dict[str, str]) -> list[int]:
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=20
    ) as client:
        responses = await asyncio.gather(
            *(client.get("/api/v1/projects") for _ in range(CLIENTS)), return_exceptions=True
        )
    return [r.status_code if isinstance(r, httpx.Response) else -1 for r in responses]


def test_a_burst_of_clients_on_a_small_pool_is_answered(session: Session, tmp_path: Path) -> None:
    user = create_user(session)
    create_project(session, owner=user)
    env = {
        "DATABASE_POOL_SIZE": "1",
        "DATABASE_MAX_OVERFLOW": "2",
        "DATABASE_POOL_TIMEOUT": "10",
        "LOG_LEVEL": "WARNING",
    }
    with running_api(log_path=tmp_path / "api.log", env=env) as (base, _api):
        statuses = asyncio.run(_hammer(base, auth_headers(user)))
    assert statuses.count(200) == CLIENTS, sorted(set(statuses))
