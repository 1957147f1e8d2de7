from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import (
    CurrentUser,
    PasswordWorkDep,
    RateLimiterDep,
    SessionDep,
    client_address,
    in_short_session,
)
from app.core.security import create_access_token
from app.users import service, throttle
from app.users.models import Token, UserCreate, UserPublic, UserUpdateMe

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
    return Token(access_token=create_access_token(str(user.id)))


@router.get("/users/me", response_model=UserPublic)
def read_me(current_user: CurrentUser) -> object:
    return current_user


@router.patch("/users/me", response_model=UserPublic)
def update_me(session: SessionDep, current_user: CurrentUser, user_in: UserUpdateMe) -> object:
    return service.update_me(session=session, user=current_user, user_in=user_in)
