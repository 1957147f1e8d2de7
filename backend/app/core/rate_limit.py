"""Fixed-window rate limits kept in Redis, so every API process counts against the same
numbers (logins and signups, per account and per client address)."""

import hashlib
import math

from redis.exceptions import RedisError

from app.core.logging import get_logger
from app.core.redis_client import async_redis_client

log = get_logger(__name__)

KEY_PREFIX = "ratelimit:"


def limit_key(scope: str, subject: str) -> str:
    # Hashed: Redis never holds the email addresses or client addresses themselves.
    digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}{scope}:{digest}"


class RateLimiter:
    """Opened and closed with the application (its lifespan), on the event loop it serves."""

    def __init__(self, redis_url: str) -> None:
        # Through the one Redis client factory, so a Redis behind Sentinel works here too.
        self._client = async_redis_client(redis_url, timeout=2)

    async def close(self) -> None:
        await self._client.aclose()  # type: ignore[attr-defined]  # stubs predate aclose

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> int | None:
        """Counts one attempt. Returns the seconds to wait when the window already holds
        `limit` attempts, else None. Redis unreachable: nothing is limited (logged), as a
        login that works beats an outage of every account; the password work stays bounded."""
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                # The window starts with the first attempt; SET NX EX and INCR in one
                # transaction, so a key never lives without its expiry.
                pipe.set(key, 0, ex=window_seconds, nx=True)
                pipe.incr(key)
                pipe.pttl(key)
                _, count, ttl_ms = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate_limit_unavailable", error=f"{type(exc).__name__}: {exc}")
            return None
        if int(count) <= limit:
            return None
        return max(1, math.ceil(int(ttl_ms) / 1000)) if int(ttl_ms) > 0 else window_seconds

    async def clear(self, key: str) -> None:
        try:
            await self._client.delete(key)
        except (RedisError, OSError) as exc:
            log.warning("rate_limit_unavailable", error=f"{type(exc).__name__}: {exc}")
