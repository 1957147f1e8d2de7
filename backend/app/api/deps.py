"""Request dependencies, as `Annotated` aliases. A dependency that loads a project also
checks access, so no route can forget to."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.core.config import settings
from app.core.db import engine
from app.core.pagination import DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE, PageRequest
from app.core.security import decode_access_token
from app.projects import service as projects_service
from app.projects.models import Project
from app.users.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=f"{settings.API_V1_STR}/login/access-token")


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Sync routes run in a bounded thread pool and keep their connection from the first query
    # to the end of the request. Admitting no more requests than the pool has connections
    # means none waits for a connection while holding one of those threads; otherwise a burst
    # deadlocks: requests holding connections wait for threads held by requests waiting for
    # connections (tests/api/test_concurrent_requests.py).
    async with request.app.state.database_slots:
        with Session(engine) as session:
            yield session


SessionDep = Annotated[Session, Depends(get_session)]
TokenDep = Annotated[str, Depends(oauth2_scheme)]

_CREDENTIALS_ERROR = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="Could not validate credentials",
    headers={"WWW-Authenticate": "Bearer"},
)


def parse_user_id(token: str) -> uuid.UUID:
    subject = decode_access_token(token)
    if subject is None:
        raise _CREDENTIALS_ERROR
    try:
        return uuid.UUID(subject)
    except ValueError:
        raise _CREDENTIALS_ERROR from None


def get_current_user(session: SessionDep, token: TokenDep) -> User:
    user = session.get(User, parse_user_id(token))
    if user is None:
        raise _CREDENTIALS_ERROR
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is disabled")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_user_id(token: TokenDep) -> uuid.UUID:
    """The token's user id, not yet checked against the database: only for routes whose own
    query checks the account (exists, active) and the access in the same statement, the
    job-status poll. Async, so the hot path never hops to the thread pool."""
    return parse_user_id(token)


CurrentUserId = Annotated[uuid.UUID, Depends(get_current_user_id)]


def get_current_superuser(current_user: CurrentUser) -> User:
    if not current_user.is_superuser:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Superuser privileges required")
    return current_user


SuperUser = Annotated[User, Depends(get_current_superuser)]


def get_project(session: SessionDep, current_user: CurrentUser, project_id: uuid.UUID) -> Project:
    project = projects_service.get_project_for_user(
        session=session, project_id=project_id, user=current_user
    )
    if project is None:
        # Another user's project answers like one that does not exist.
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Project not found")
    return project


ProjectDep = Annotated[Project, Depends(get_project)]


def get_page(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size (at most {MAX_PAGE_SIZE})")
    ] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PageRequest:
    """The bounds every paginated list accepts (`app.core.pagination`)."""
    return PageRequest(limit=limit, offset=offset)


PageDep = Annotated[PageRequest, Depends(get_page)]
