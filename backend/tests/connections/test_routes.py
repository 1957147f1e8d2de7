"""The connection routes every integration mounts, on an application of their own: a tiny
provider declares only what differs (its form, how it saves and tests one), and the routes
answer as the integrations' contract says (paths, operation ids, 404, 409, 422, 204)."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlmodel import Session

from app.api.deps import ProjectDep, SessionDep
from app.connections import service as connections_service
from app.connections.models import ConnectionTestPublic, ProviderConnection
from app.connections.routes import NotConnected, connection_routes
from app.jobs.models import JobRun
from app.projects.models import Project
from app.users.models import User
from tests.builders import auth_headers, create_project, create_user

PROVIDER = "example_provider"
BASE = "/api/v1/projects/{project_id}/example"


class ExampleForm(BaseModel):
    target: str
    token: str


class ExampleNotConnectedError(LookupError):
    def __init__(self) -> None:
        super().__init__("Example is not connected: connect it first")


NOT_CONNECTED = NotConnected(
    error=ExampleNotConnectedError,
    detail="Example is not connected",
    description="No such project, or not yours; or Example is not connected",
)


def _connect(*, session: Session, project: Project, body: ExampleForm) -> ProviderConnection:
    if body.target == "bad":
        raise ValueError("target must not be bad")
    return connections_service.save_connection(
        session=session,
        project=project,
        provider=PROVIDER,
        target=body.target,
        account="example account",
        secret={"token": body.token},
    )


def _check(*, session: Session, project: Project, body: ExampleForm | None) -> ConnectionTestPublic:
    if body is not None:
        return ConnectionTestPublic(ok=True, detail=f"the form reaches {body.target}")
    stored = connections_service.get_connection(
        session=session, project_id=project.id, provider=PROVIDER
    )
    if stored is None:
        raise ExampleNotConnectedError()
    token = connections_service.read_secret(stored)["token"]
    return ConnectionTestPublic(ok=True, detail=f"{stored.target} with a token of {len(token)}")


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}"


@pytest.fixture
def after_connect() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def example(after_connect: list[tuple[str, str]]) -> Iterator[TestClient]:
    started: list[str] = []

    def first_sync(*, session: Session, project: Project, user: User) -> object:
        after_connect.append((str(project.id), str(user.id)))
        return None

    router = APIRouter(tags=["example"])
    router.include_router(
        connection_routes(
            prefix="example",
            provider=PROVIDER,
            not_connected=NOT_CONNECTED,
            body=ExampleForm,
            connect=_connect,
            check=_check,
            after_connect=first_sync,
            names={"delete": "disconnect_example"},
            docs={"check": "Tests the form given,\n    or the stored one."},
        )
    )

    @router.post("/projects/{project_id}/example/sync", status_code=202)
    def start_example_sync(
        session: SessionDep, project: ProjectDep, response: Response, days: int = 1
    ) -> dict[str, Any]:
        def start() -> tuple[JobRun, bool]:
            if days > 7:
                raise ValueError("days must be at most 7")
            stored = connections_service.get_connection(
                session=session, project_id=project.id, provider=PROVIDER
            )
            if stored is None:
                raise ExampleNotConnectedError()
            # The second start of the day finds the first one active.
            started.append(stored.target)
            return JobRun(job_type="example_sync", stage="sync"), len(started) == 1

        job = NOT_CONNECTED.start_job(response, start)
        return {"job_type": job.job_type}

    app = FastAPI(generate_unique_id_function=_operation_id)
    app.state.database_slots = asyncio.Semaphore(4)
    app.include_router(router, prefix="/api/v1")
    with TestClient(app) as client:
        yield client


def test_the_routes_are_the_contract_of_every_integration(example: TestClient) -> None:
    paths = example.get("/openapi.json").json()["paths"]
    connection = paths["/api/v1/projects/{project_id}/example/connection"]
    test = paths["/api/v1/projects/{project_id}/example/connection/test"]
    assert sorted(connection) == ["delete", "get", "put"]
    assert connection["put"]["operationId"] == "example-connect_example"
    assert connection["get"]["operationId"] == "example-get_example_connection"
    assert connection["delete"]["operationId"] == "example-disconnect_example"
    assert test["post"]["operationId"] == "example-check_example_connection"
    assert test["post"]["description"] == "Tests the form given,\nor the stored one."
    for operation in (connection["get"], connection["delete"], test["post"]):
        assert operation["responses"]["404"]["description"] == NOT_CONNECTED.description
    assert "404" not in connection["put"]["responses"]
    assert "204" in connection["delete"]["responses"]
    assert not test["post"]["requestBody"].get("required", False)
    assert connection["put"]["requestBody"]["required"] is True


def test_connect_read_test_and_disconnect(
    example: TestClient, session: Session, after_connect: list[tuple[str, str]]
) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    headers = auth_headers(owner)
    base = BASE.format(project_id=project.id)

    missing = example.get(f"{base}/connection", headers=headers)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Example is not connected"})
    untested = example.post(f"{base}/connection/test", headers=headers)
    assert (untested.status_code, untested.json()["detail"]) == (404, "Example is not connected")
    conflict = example.post(f"{base}/sync", headers=headers)
    assert (conflict.status_code, conflict.json()["detail"]) == (
        409,
        "Example is not connected: connect it first",
    )

    refused = example.put(
        f"{base}/connection", json={"target": "bad", "token": "t"}, headers=headers
    )
    assert (refused.status_code, refused.json()) == (422, {"detail": "target must not be bad"})
    assert after_connect == []

    saved = example.put(
        f"{base}/connection", json={"target": "site-1", "token": "secret-token"}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["provider"] == PROVIDER
    assert saved.json()["target"] == "site-1"
    assert "secret-token" not in saved.text
    assert after_connect == [(str(project.id), str(owner.id))]

    read = example.get(f"{base}/connection", headers=headers)
    assert read.status_code == 200
    assert read.json() == saved.json()
    form = example.post(
        f"{base}/connection/test", json={"target": "site-2", "token": "x"}, headers=headers
    )
    assert form.json() == {"ok": True, "detail": "the form reaches site-2", "choices": []}
    stored = example.post(f"{base}/connection/test", headers=headers)
    assert stored.json()["detail"] == "site-1 with a token of 12"

    first = example.post(f"{base}/sync", headers=headers)
    assert (first.status_code, first.json()) == (202, {"job_type": "example_sync"})
    assert "X-Job-Existing" not in first.headers
    second = example.post(f"{base}/sync", headers=headers)
    assert (second.status_code, second.headers["X-Job-Existing"]) == (202, "true")
    too_long = example.post(f"{base}/sync", params={"days": 8}, headers=headers)
    assert (too_long.status_code, too_long.json()) == (422, {"detail": "days must be at most 7"})

    removed = example.delete(f"{base}/connection", headers=headers)
    assert (removed.status_code, removed.content) == (204, b"")
    again = example.delete(f"{base}/connection", headers=headers)
    assert (again.status_code, again.json()["detail"]) == (404, "Example is not connected")
    assert example.get(f"{base}/connection", headers=headers).status_code == 404


def test_another_users_project_is_not_found(example: TestClient, session: Session) -> None:
    project = create_project(session, owner=create_user(session))
    stranger = auth_headers(create_user(session))
    base = BASE.format(project_id=project.id)
    put = example.put(f"{base}/connection", json={"target": "a", "token": "b"}, headers=stranger)
    assert put.status_code == 404
    assert put.json()["detail"] != "Example is not connected"
    assert example.get(f"{base}/connection", headers=stranger).status_code == 404
    assert example.delete(f"{base}/connection", headers=stranger).status_code == 404
    assert (
        connections_service.get_connection(
            session=session, project_id=project.id, provider=PROVIDER
        )
        is None
    )
