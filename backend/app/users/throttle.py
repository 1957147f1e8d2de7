"""Login and signup rate limits: per account (email) and per client address, counted in
Redis by every API process. Counted before any password work, so a flood costs no Argon2."""

from dataclasses import dataclass

from app.core.config import settings
from app.core.rate_limit import RateLimiter, limit_key


@dataclass
class ThrottledError(Exception):
    retry_after: int
    detail: str


async def admit_login(limiter: RateLimiter, *, email: str, address: str) -> None:
    window = settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    wait = await limiter.hit(
        limit_key("login-address", address),
        limit=settings.LOGIN_RATE_LIMIT_PER_ADDRESS,
        window_seconds=window,
    )
    if wait is not None:
        raise ThrottledError(wait, f"Too many login attempts from your address; retry in {wait} s")
    wait = await limiter.hit(
        limit_key("login-account", email),
        limit=settings.LOGIN_RATE_LIMIT_PER_ACCOUNT,
        window_seconds=window,
    )
    if wait is not None:
        raise ThrottledError(wait, f"Too many login attempts for this account; retry in {wait} s")


async def forget_login_attempts(limiter: RateLimiter, *, email: str) -> None:
    """A successful login starts the account's count afresh (its owner is not locked out by
    their own earlier typos); the address keeps its count."""
    await limiter.clear(limit_key("login-account", email))


async def admit_signup(limiter: RateLimiter, *, address: str) -> None:
    wait = await limiter.hit(
        limit_key("signup-address", address),
        limit=settings.SIGNUP_RATE_LIMIT_PER_ADDRESS,
        window_seconds=settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS,
    )
    if wait is not None:
        raise ThrottledError(wait, f"Too many signups from your address; retry in {wait} s")
