import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import (
    CurrentUser,
    LoginUser,
    PasswordWorkDep,
    RateLimiterDep,
    SessionDep,
    client_address,
    in_short_session,
)
from app.core.security import create_access_token
from app.users import service, throttle
from app.users.models import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    ApiTokensPublic,
    PasswordChange,
    Token,
    UserCreate,
    UserPublic,
    UserUpdateMe,
)

router = APIRouter(tags=["users"])

_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many attempts; Retry-After says when to try again"},
    503: {"description": "Too many sign-ins at once on this server; retry shortly"},
}


def _too_many(exc: throttle.ThrottledError) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=exc.detail,
        headers={"Retry-After": str(exc.retry_after)},
    )


@router.post(
    "/users/signup",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_THROTTLED,
)
async def signup(
    request: Request, limiter: RateLimiterDep, passwords: PasswordWorkDep, user_in: UserCreate
) -> object:
    try:
        await throttle.admit_signup(limiter, address=client_address(request))
    except throttle.ThrottledError as exc:
        raise _too_many(exc) from None
    # Hashed before the session opens: no connection waits on Argon2.
    hashed = await passwords.hash(user_in.password)
    try:
        return await in_short_session(
            request, service.create_user, user_in=user_in, hashed_password=hashed
        )
    except service.EmailTakenError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="A user with this email already exists"
        ) from None


@router.post("/login/access-token", response_model=Token, responses=_THROTTLED)
async def login_access_token(
    request: Request,
    limiter: RateLimiterDep,
    passwords: PasswordWorkDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Counted per account and per client address before any password work; the account
    is read in a short session of its own, then the password is verified (Argon2, bounded
    per process) holding no connection."""
    try:
        await throttle.admit_login(limiter, email=form.username, address=client_address(request))
    except throttle.ThrottledError as exc:
        raise _too_many(exc) from None
    user = await in_short_session(request, service.get_user_by_email, email=form.username)
    # An unknown email is verified against a decoy hash: the same work as a wrong password.
    matches = await passwords.verify(form.password, None if user is None else user.hashed_password)
    if user is None or not matches:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is disabled")
    await throttle.forget_login_attempts(limiter, email=form.username)
    return Token(access_token=create_access_token(str(user.id), version=user.token_version))


@router.get("/users/me", response_model=UserPublic)
def read_me(current_user: CurrentUser) -> object:
    return current_user


@router.patch("/users/me", response_model=UserPublic)
def update_me(session: SessionDep, current_user: CurrentUser, user_in: UserUpdateMe) -> object:
    return service.update_me(session=session, user=current_user, user_in=user_in)


@router.post(
    "/users/me/password",
    response_model=Token,
    responses={400: {"description": "The current password is wrong"}, **_THROTTLED},
)
async def change_password(
    request: Request,
    session: SessionDep,
    current_user: LoginUser,
    limiter: RateLimiterDep,
    passwords: PasswordWorkDep,
    change: PasswordChange,
) -> Token:
    """Sets a new password and signs out every session and script holding an older login
    token; answers with a fresh token for this one. Counted like a login (guessing the
    current password from a stolen session is limited the same way)."""
    try:
        await throttle.admit_login(
            limiter, email=current_user.email, address=client_address(request)
        )
    except throttle.ThrottledError as exc:
        raise _too_many(exc) from None
    if not await passwords.verify(change.current_password, current_user.hashed_password):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="The current password is wrong")
    hashed = await passwords.hash(change.new_password)
    user = await run_in_threadpool(
        service.set_password, session=session, user=current_user, hashed_password=hashed
    )
    await throttle.forget_login_attempts(limiter, email=user.email)
    return Token(access_token=create_access_token(str(user.id), version=user.token_version))


@router.get("/users/me/tokens", response_model=ApiTokensPublic)
def list_api_tokens(session: SessionDep, current_user: LoginUser) -> ApiTokensPublic:
    """Your personal API tokens (never the tokens themselves), newest first."""
    rows = service.list_api_tokens(session=session, user=current_user)
    return ApiTokensPublic(data=[ApiTokenPublic.model_validate(r) for r in rows], count=len(rows))


@router.post(
    "/users/me/tokens",
    response_model=ApiTokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses={429: {"description": "The account has the most tokens it may have"}},
)
def create_api_token(
    session: SessionDep, current_user: LoginUser, token_in: ApiTokenCreate
) -> ApiTokenCreated:
    """A token for scripts, sent as `Authorization: Bearer <token>`. The answer is the only
    time the token is shown; `read` tokens may only read (GET)."""
    row, token = service.create_api_token(session=session, user=current_user, token_in=token_in)
    return ApiTokenCreated.model_validate(row, update={"token": token})


@router.delete(
    "/users/me/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "No such token, or not yours"}},
)
def revoke_api_token(session: SessionDep, current_user: LoginUser, token_id: uuid.UUID) -> Response:
    """Revokes the token at once: the next request with it gets 401."""
    row = service.get_api_token(session=session, user=current_user, token_id=token_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="API token not found")
    service.revoke_api_token(session=session, token=row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
