"""Provider rate limits shared by every worker process: token buckets kept in Redis.

Celery's `rate_limit` counts per worker process, so N workers would send N times a provider's
limit. Here every call takes a token from each of its buckets (e.g. Search Console's per
property and per user) in one Lua script, atomically across all workers; the clock is Redis's
own (`TIME`), so workers on hosts whose clocks differ still share one rate.

A bucket refills at `per_minute / 60` tokens a second and holds at most `burst` (by default a
second's worth), so any 60-second window admits at most `per_minute + burst` calls.
"""

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from app.core.redis_client import redis_client

KEY_PREFIX = "tokens:"

# KEYS: the buckets. ARGV: per bucket, its rate (tokens/s) and capacity, then the TTL (ms).
# Takes one token from every bucket, or from none; returns 0 when taken, else the
# milliseconds until every bucket holds a token.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local wait = 0
local levels = {}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1]) / 1000
  local capacity = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  levels[i] = tokens
  if tokens < 1 then
    wait = math.max(wait, math.ceil((1 - tokens) / rate))
  end
end
if wait > 0 then
  return wait
end
local ttl = tonumber(ARGV[2 * #KEYS + 1])
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', levels[i] - 1, 'at', now)
  redis.call('PEXPIRE', key, ttl)
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One limit: `name` (e.g. `gsc:site:<hash>`), `per_minute`, and its burst."""

    name: str
    per_minute: float
    burst: float | None = None

    @property
    def rate_per_second(self) -> float:
        return self.per_minute / 60

    @property
    def capacity(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.rate_per_second)


class RateLimitWaitTooLongError(Exception):
    """The buckets would not hold a token within the caller's longest wait."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"provider rate limit: next call possible in {wait_seconds:.1f} s")
        self.wait_seconds = wait_seconds


class TokenBuckets:
    def __init__(self, client: "redis.Redis[bytes] | None" = None) -> None:
        self._client = client or redis_client()
        self._script = self._client.register_script(_TAKE)

    def try_take(self, buckets: Sequence[Bucket]) -> float:
        """Takes a token from every bucket and returns 0, or takes none and returns the
        seconds until all of them hold one."""
        if not buckets:
            return 0.0
        args: list[float] = []
        for bucket in buckets:
            args += [bucket.rate_per_second, bucket.capacity]
        slowest = min(b.rate_per_second for b in buckets)
        ttl_ms = math.ceil(max(b.capacity for b in buckets) / slowest * 1000) + 60_000
        keys = [f"{KEY_PREFIX}{b.name}" for b in buckets]
        wait_ms = int(self._script(keys=keys, args=[*args, ttl_ms]))
        return wait_ms / 1000

    def take(
        self,
        buckets: Sequence[Bucket],
        *,
        max_wait: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> float:
        """Waits for a token in every bucket; returns the seconds waited. Raises
        RateLimitWaitTooLongError rather than wait beyond `max_wait` in all."""
        waited = 0.0
        while True:
            wait = self.try_take(buckets)
            if wait == 0:
                return waited
            if waited + wait > max_wait:
                raise RateLimitWaitTooLongError(wait)
            sleep(wait)
            waited += wait
