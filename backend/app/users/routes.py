from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import CurrentUser, SessionDep
from app.core.security import create_access_token
from app.users import service
from app.users.models import Token, UserCreate, UserPublic, UserUpdateMe

router = APIRouter(tags=["users"])


@router.post("/users/signup", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def signup(session: SessionDep, user_in: UserCreate) -> object:
    try:
        return service.create_user(session=session, user_in=user_in)
    except service.EmailTakenError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="A user with this email already exists"
        ) from None


@router.post("/login/access-token", response_model=Token)
def login_access_token(
    session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    user = service.authenticate(session=session, email=form.username, password=form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is disabled")
    return Token(access_token=create_access_token(str(user.id)))


@router.get("/users/me", response_model=UserPublic)
def read_me(current_user: CurrentUser) -> object:
    return current_user


@router.patch("/users/me", response_model=UserPublic)
def update_me(session: SessionDep, current_user: CurrentUser, user_in: UserUpdateMe) -> object:
    return service.update_me(session=session, user=current_user, user_in=user_in)
