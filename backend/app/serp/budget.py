"""What every provider request must get first: a token of the provider account's shared rate
limit (app.core.token_bucket) and one request of the platform's daily cap.

The cap (SERP_REFRESH_DAILY_CAP) counts provider requests (each paged call and each retry is
one) per UTC day, across every worker: one Redis counter per day, checked and incremented in
one Lua script, so two workers can never both take the last request.
"""

import datetime as dt
import hashlib

import redis

from app.core.config import settings
from app.core.db import utcnow
from app.core.redis_client import redis_client
from app.core.token_bucket import Bucket, RateLimitWaitTooLongError, TokenBuckets
from app.jobs.errors import TransientJobError

CAP_KEY_PREFIX = "serp:requests:"
# A day's counter outlives its day a little (read by the API the day after).
CAP_KEY_TTL_SECONDS = 2 * 86400

# KEYS[1]: the day's counter. ARGV: the cap, the TTL. Returns the count after taking one,
# or -1 (nothing taken) when the cap is reached.
_TAKE_ONE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then
  return -1
end
used = redis.call('INCR', KEYS[1])
if used == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return used
"""


class RefreshHaltedError(Exception):
    """The refresh must stop for today (the daily cap, the provider's searches or balance
    used up); what was checked stays, the rest waits for the next refresh."""


class DailyCap:
    def __init__(
        self, limit: int | None = None, client: "redis.Redis[bytes] | None" = None
    ) -> None:
        self.limit = settings.SERP_REFRESH_DAILY_CAP if limit is None else limit
        self._client = client or redis_client()
        self._script = self._client.register_script(_TAKE_ONE)

    @staticmethod
    def key(day: dt.date | None = None) -> str:
        return f"{CAP_KEY_PREFIX}{(day or utcnow().date()).isoformat()}"

    def take(self) -> bool:
        """One request of today's cap, or False (none taken) when it is used up."""
        return int(self._script(keys=[self.key()], args=[self.limit, CAP_KEY_TTL_SECONDS])) >= 0

    def used(self, day: dt.date | None = None) -> int:
        return int(self._client.get(self.key(day)) or 0)


def account_bucket(provider: str, account: str, per_minute: int) -> Bucket:
    """The rate limit of one provider account (shared by every project using it)."""
    digest = hashlib.sha256(account.encode()).hexdigest()[:16]
    return Bucket(name=f"serp:{provider}:{digest}", per_minute=per_minute)


class RequestGate:
    """Taken before every provider request: the rate limit first (it only waits), then the
    cap (which refuses). Shared by the refresh's threads."""

    def __init__(
        self,
        *,
        bucket: Bucket,
        cap: DailyCap | None = None,
        limiter: TokenBuckets | None = None,
        max_wait: float | None = None,
    ) -> None:
        self.bucket = bucket
        self.cap = cap or DailyCap()
        self.limiter = limiter or TokenBuckets()
        self.max_wait = settings.PROVIDER_RETRY_MAX_SECONDS if max_wait is None else max_wait

    def acquire(self) -> None:
        try:
            self.limiter.take([self.bucket], max_wait=self.max_wait)
        except RateLimitWaitTooLongError as exc:
            raise TransientJobError(
                f"the provider's shared rate limit allows no call for {exc.wait_seconds:.0f} s",
                retry_after=exc.wait_seconds,
                category="rate_limited",
            ) from exc
        if not self.cap.take():
            raise RefreshHaltedError(
                f"the daily cap of {self.cap.limit} provider requests "
                "(SERP_REFRESH_DAILY_CAP) is reached"
            )
