"""Request dependencies, as `Annotated` aliases. A dependency that loads a project also
checks access, so no route can forget to."""

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.core.config import settings
from app.core.db import engine
from app.core.pagination import DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE, PageRequest
from app.core.rate_limit import RateLimiter
from app.core.security import (
    API_TOKEN_PREFIX,
    Caller,
    PasswordWork,
    api_token_digest,
    decode_access_token,
)
from app.projects import service as projects_service
from app.projects.models import Project
from app.users import service as users_service
from app.users.models import ApiTokenScope, User

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

T = TypeVar("T")


async def in_short_session(request: Request, work: Callable[..., T], **kwargs: Any) -> T:
    """Runs `work(session=..., **kwargs)` in the thread pool with a session of its own,
    closed when it returns: for async routes that must not hold a connection across slow
    work of their own (Argon2). Admitted like any request's session (get_session)."""

    def run() -> T:
        with Session(engine, expire_on_commit=False) as session:
            return work(session=session, **kwargs)

    async with request.app.state.database_slots:
        return await run_in_threadpool(run)


def get_password_work(request: Request) -> PasswordWork:
    work: PasswordWork = request.app.state.password_work
    return work


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


PasswordWorkDep = Annotated[PasswordWork, Depends(get_password_work)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def client_address(request: Request) -> str:
    # Behind a proxy, run uvicorn with --proxy-headers and --forwarded-allow-ips so this is
    # the client's address, not the proxy's.
    return request.client.host if request.client else "unknown"


TokenDep = Annotated[str, Depends(oauth2_scheme)]

_CREDENTIALS_ERROR = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="Could not validate credentials",
    headers={"WWW-Authenticate": "Bearer"},
)


# What a read-only API token may do.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def parse_caller(token: str) -> Caller:
    """The caller a bearer token names, not yet checked against the database."""
    if token.startswith(API_TOKEN_PREFIX):
        return Caller(api_token_digest=api_token_digest(token))
    claims = decode_access_token(token)
    if claims is None:
        raise _CREDENTIALS_ERROR
    try:
        return Caller(user_id=uuid.UUID(claims.subject), token_version=claims.version)
    except ValueError:
        raise _CREDENTIALS_ERROR from None


def get_current_user(request: Request, session: SessionDep, token: TokenDep) -> User:
    """The account behind a login token (of the account's current token version) or a
    personal API token; a read-only API token is refused on anything but reads (403)."""
    if token.startswith(API_TOKEN_PREFIX):
        found = users_service.authenticate_api_token(session=session, token=token)
        if found is None:
            raise _CREDENTIALS_ERROR
        user, scope = found
        if scope is not ApiTokenScope.write and request.method not in SAFE_METHODS:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This API token is read-only")
        request.state.api_token = True
    else:
        caller = parse_caller(token)
        user_or_none = session.get(User, caller.user_id)
        # A token older than the last password change carries an older version.
        if user_or_none is None or user_or_none.token_version != caller.token_version:
            raise _CREDENTIALS_ERROR
        user = user_or_none
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is disabled")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_login_user(request: Request, current_user: CurrentUser) -> User:
    """The current user signed in with a password (a login token), not an API token: for
    the password and the API tokens themselves."""
    if getattr(request.state, "api_token", False):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Passwords and API tokens are managed from a login session, not an API token",
        )
    return current_user


LoginUser = Annotated[User, Depends(get_login_user)]


async def get_caller(token: TokenDep) -> Caller:
    """The token's caller, not yet checked against the database: only for routes whose own
    query checks the account (exists, active, token version or API token) and the access in
    the same statement, the job-status poll. Async, so the hot path never hops to the thread
    pool."""
    return parse_caller(token)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def get_current_superuser(current_user: CurrentUser) -> User:
    if not current_user.is_superuser:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Superuser privileges required")
    return current_user


SuperUser = Annotated[User, Depends(get_current_superuser)]

optional_oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl=f"{settings.API_V1_STR}/login/access-token", auto_error=False
)


def _is_superuser_token(*, session: Session, token: str) -> bool:
    if token.startswith(API_TOKEN_PREFIX):
        found = users_service.authenticate_api_token(session=session, token=token)
        user = None if found is None else found[0]
    else:
        try:
            caller = parse_caller(token)
        except HTTPException:
            return False
        user = session.get(User, caller.user_id)
        if user is not None and user.token_version != caller.token_version:
            return False
    return user is not None and user.is_active and user.is_superuser


async def caller_is_superuser(
    request: Request, token: Annotated[str | None, Depends(optional_oauth2_scheme)]
) -> bool:
    """Whether an optional bearer token is a superuser's, for public endpoints that show
    operators more; no token costs nothing, a bad one is simply not a superuser's."""
    if not token:
        return False
    return await in_short_session(request, _is_superuser_token, token=token)


CallerIsSuperuser = Annotated[bool, Depends(caller_is_superuser)]


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
