"""The connection routes every integration mounts (docs/architecture.md, "Integrations"):
`PUT`, `GET`, `DELETE /projects/{project_id}/<prefix>/connection` and `POST .../test`, and
how a domain's routes answer "not connected". A domain declares only what differs: its
provider, its form's schema, how a connection is saved and how one is tested.

The connections domain mounts no routes of its own; each integration includes
`connection_routes(...)` in its router, whose tag names the operations (`<tag>-<name>`)."""

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Body, HTTPException, Response, status
from sqlmodel import Session

from app.api.deps import CurrentUser, ProjectDep, SessionDep
from app.connections import service
from app.connections.models import ConnectionPublic, ConnectionTestPublic, ProviderConnection
from app.jobs.models import JobRun
from app.projects.models import Project
from app.users.models import User

Route = Literal["connect", "get", "delete", "check"]


class Connect(Protocol):
    """Saves the connection form (`body`) of the project; raises ValueError for input to fix."""

    def __call__(self, *, session: Session, project: Project, body: Any) -> ProviderConnection: ...


class Check(Protocol):
    """Tests the form given, or the stored connection when `body` is None."""

    def __call__(
        self, *, session: Session, project: Project, body: Any
    ) -> ConnectionTestPublic: ...


class AfterConnect(Protocol):
    def __call__(self, *, session: Session, project: Project, user: User) -> object: ...


@dataclass(frozen=True, slots=True)
class NotConnected:
    """How a domain's routes answer when its service raises `error` (the project has no
    connection): 404 with `detail` on reads, 409 with the error's message when a job would
    start. `description` is the 404 of the OpenAPI document."""

    error: type[Exception]
    detail: str
    description: str

    @property
    def responses(self) -> dict[int | str, dict[str, Any]]:
        return {404: {"description": self.description}}

    def missing(self) -> HTTPException:
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=self.detail)

    @contextmanager
    def answers(self, *, conflict: bool = False) -> Iterator[None]:
        """Turns the service's refusals into answers: not connected, 404 (409 with
        `conflict`, for starting a job); invalid input (ValueError), 422."""
        try:
            yield
        except self.error as exc:
            if conflict:
                raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
            raise self.missing() from exc
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc

    def start_job(self, response: Response, start: Callable[[], tuple[JobRun, bool]]) -> JobRun:
        """The answer of a route that starts a job: the job `start()` returns, with the header
        `X-Job-Existing: true` when it is the active one; 409 when not connected, 422 for
        a ValueError."""
        with self.answers(conflict=True):
            job, created = start()
        if not created:
            response.headers["X-Job-Existing"] = "true"
        return job


def _annotate(endpoint: Callable[..., Any], **annotations: Any) -> None:
    """Gives `endpoint`'s parameters the annotations FastAPI reads (the domain's schemas)."""
    signature = inspect.signature(endpoint)
    parameters = [
        parameter.replace(annotation=annotations.get(parameter.name, parameter.annotation))
        for parameter in signature.parameters.values()
    ]
    setattr(endpoint, "__signature__", signature.replace(parameters=parameters))  # noqa: B010


def connection_routes(
    *,
    prefix: str,
    provider: str,
    not_connected: NotConnected,
    body: Any,
    connect: Connect,
    check: Check,
    check_body: Any = None,
    after_connect: AfterConnect | None = None,
    names: Mapping[Route, str] | None = None,
    docs: Mapping[Route, str] | None = None,
) -> APIRouter:
    """The four connection routes of `provider` under `/projects/{project_id}/<prefix>`.

    `connect(session=, project=, body=)` saves the form (`body`, the schema) and returns
    the row; `after_connect(session=, project=, user=)` runs once the answer is made (Ads:
    its first sync). `check(session=, project=, body=)` tests the form given (`check_body`,
    default `body`) or, with None, the stored connection, raising `not_connected.error`
    without one. A ValueError of either is a 422. `names` overrides the operation names (default
    `connect_<prefix>`, `get_<prefix>_connection`, `delete_<prefix>_connection`,
    `check_<prefix>_connection`); `docs` are the operations' descriptions."""
    path = f"/projects/{{project_id}}/{prefix}/connection"
    named: dict[Route, str] = {
        "connect": f"connect_{prefix}",
        "get": f"get_{prefix}_connection",
        "delete": f"delete_{prefix}_connection",
        "check": f"check_{prefix}_connection",
        **(names or {}),
    }
    described = {route: inspect.cleandoc(text) for route, text in (docs or {}).items()}
    router = APIRouter()

    def connect_route(
        session: SessionDep, current_user: CurrentUser, project: ProjectDep, body: Any
    ) -> ConnectionPublic:
        with not_connected.answers():
            connection = connect(session=session, project=project, body=body)
        public = service.describe(connection)
        if after_connect is not None:
            after_connect(session=session, project=project, user=current_user)
        return public

    def get_route(session: SessionDep, project: ProjectDep) -> ConnectionPublic:
        connection = service.get_connection(
            session=session, project_id=project.id, provider=provider
        )
        if connection is None:
            raise not_connected.missing()
        return service.describe(connection)

    def delete_route(session: SessionDep, project: ProjectDep) -> Response:
        if not service.delete_connection(session=session, project_id=project.id, provider=provider):
            raise not_connected.missing()
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    def check_route(
        session: SessionDep, project: ProjectDep, body: Any = None
    ) -> ConnectionTestPublic:
        with not_connected.answers():
            return check(session=session, project=project, body=body)

    _annotate(connect_route, body=body)
    _annotate(check_route, body=Annotated[(check_body or body) | None, Body()])
    missing = not_connected.responses
    table: list[tuple[Route, str, str, Callable[..., Any], dict[str, Any]]] = [
        ("connect", path, "PUT", connect_route, {"response_model": ConnectionPublic}),
        ("get", path, "GET", get_route, {"response_model": ConnectionPublic, "responses": missing}),
        ("delete", path, "DELETE", delete_route, {"status_code": 204, "responses": missing}),
        (
            "check",
            f"{path}/test",
            "POST",
            check_route,
            {"response_model": ConnectionTestPublic, "responses": missing},
        ),
    ]
    for route, where, method, endpoint, options in table:
        router.add_api_route(
            where,
            endpoint,
            methods=[method],
            name=named[route],
            description=described.get(route),
            **options,
        )
    return router
