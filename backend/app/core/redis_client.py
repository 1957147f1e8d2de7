"""Redis clients for everything that is not Celery (readiness, queue depths, counters, rate
limits): one function, so a plain Redis and a Redis behind Sentinel work the same everywhere.

With REDIS_SENTINEL_MASTER set, the URL lists the sentinels in kombu's form
(`sentinel://[:password@]host:port;sentinel://host:port/db`) and the client asks them for
the current master, again after a fail-over.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

from app.core.config import settings


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: list[tuple[str, int]]
    db: int
    password: str | None
    username: str | None


def parse_sentinel_url(url: str) -> SentinelAddress:
    sentinels: list[tuple[str, int]] = []
    db = 0
    password: str | None = None
    username: str | None = None
    for part in url.split(";"):
        parsed = urlsplit(part.strip())
        if parsed.scheme != "sentinel" or not parsed.hostname:
            raise ValueError(f"not a sentinel:// address: {part!r}")
        sentinels.append((parsed.hostname, parsed.port or 26379))
        if parsed.password:
            password = unquote(parsed.password)
            username = unquote(parsed.username) if parsed.username else None
        if parsed.path.strip("/"):
            db = int(parsed.path.strip("/"))
    return SentinelAddress(sentinels=sentinels, db=db, password=password, username=username)


def _sentinel(url: str, timeout: float) -> tuple[SentinelAddress, dict[str, Any]]:
    """The sentinels' address and the options both clients (sync, asyncio) ask them with."""
    if settings.REDIS_SENTINEL_MASTER is None:
        raise ValueError("a sentinel:// URL needs REDIS_SENTINEL_MASTER")
    timeouts = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    # The sentinels are asked without the master's password, as kombu asks them.
    return parse_sentinel_url(url), {**timeouts, "sentinel_kwargs": timeouts}


def redis_client(url: str | None = None, *, timeout: float = 2.0) -> "redis.Redis[bytes]":
    """A client for `url` (default REDIS_URL) with socket timeouts of `timeout` seconds."""
    url = url or settings.REDIS_URL
    if not url.startswith("sentinel://"):
        return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    address, options = _sentinel(url, timeout)
    client: redis.Redis[bytes] = Sentinel(address.sentinels, **options).master_for(
        str(settings.REDIS_SENTINEL_MASTER),
        db=address.db,
        password=address.password,
        username=address.username,
    )
    return client


def async_redis_client(url: str | None = None, *, timeout: float = 2.0) -> "aioredis.Redis[bytes]":
    """The asyncio twin of `redis_client`, for the API's event loop (rate limits)."""
    url = url or settings.REDIS_URL
    if not url.startswith("sentinel://"):
        return aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    address, options = _sentinel(url, timeout)
    return AsyncSentinel(address.sentinels, **options).master_for(
        str(settings.REDIS_SENTINEL_MASTER),
        db=address.db,
        password=address.password,
        username=address.username,
    )
