"""Priorities and fairness of waiting jobs (docs/architecture.md, "Priorities and fairness").

**Priority.** A job's priority (interactive, scheduled, bulk) is on its row and becomes the
kombu priority of every message published for it: the start, each hand-off, each retry, the
sweep's republish and a fairness deferral all read it from the row (or from the message of
the same job), and kombu gives a message back to its queue at its own priority when a worker
dies under it. kombu's Redis transport keeps one list per priority step ("<queue>", then
"<queue>\\x06\\x163", ...) and a consumer's BRPOP names them highest first, so a free worker
slot always takes the oldest interactive message before any scheduled or bulk one.

**Bulk share.** At every claim a counter of the queue's picks since the last bulk pick goes
up; once it reaches JOB_BULK_EVERY_NTH_PICK while bulk messages wait, the oldest of them is
moved to the front of the queue (the tail of the highest list, which the next BRPOP pops),
so bulk jobs get at least one pick in N however many interactive and scheduled jobs arrive.

**Fairness.** Before a worker claims a job it asks Redis, in one Lua script, whether the
job's account (its user, or its project when Beat started it) already holds its share of the
queue's worker slots while another account's jobs wait:

- slots held: a sorted set per (queue, account) of job ids scored by lease expiry, written
  at claim time, extended with the job's lease by the heartbeat and removed when the stage
  ends; a worker SIGKILLed under a job leaks nothing: its entry expires with the lease.
- the queue's slots: a sorted set of the worker processes (and pool threads) that took a job
  of the queue within the last JOB_LEASE_SECONDS; the limit is
  max(1, floor(JOB_FAIR_SHARE * slots)).
- who waits: a hash of the queue's published, unclaimed jobs (job id -> account) and their
  count per account, both changed by the same scripts (so they agree), marked when a job is
  published and cleared when it is claimed; the rescue sweep drops the marks of jobs that no
  longer wait (cancelled while queued, deleted). "Others wait" = the queue's count minus the
  account's own.

A job over its share is published again with a short countdown (JOB_FAIR_SHARE_RETRY_SECONDS)
at its own priority, untouched in the database: still queued, no attempt spent, its
queued_at (and so its measured wait) unchanged; and a waiting job of another account, named
by the script, is published at the front, so the free slot goes to that account now. When
nobody else waits, one account may use every slot.

The keys live on the broker's Redis, beside the queues the bulk share moves messages of.
"""

import math
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from redis.commands.core import Script

from app.core.config import settings
from app.core.logging import get_logger
from app.jobs.models import JobPriority
from app.jobs.rollups import PICKUP_BUCKETS

logger = get_logger(__name__)

# kombu's Redis transport: lower numbers are taken first; its steps are 0, 3, 6 and 9, and
# messages published without a priority (the platform's own tasks) are at 0.
MESSAGE_PRIORITIES = {
    JobPriority.interactive: 0,
    JobPriority.scheduled: 3,
    JobPriority.bulk: 6,
}
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"

# Message headers: the job's priority and account, read before the claim.
PRIORITY_HEADER = "job_priority"
ACCOUNT_HEADER = "job_account"

_PREFIX = "jobs:fair"
PICKUP_KEY = "jobs:pickup"


def message_priority(priority: JobPriority | str) -> int:
    if not settings.JOB_PRIORITIES_ENABLED:
        return 0
    return MESSAGE_PRIORITIES[JobPriority(priority)]


def priority_list(queue: str, priority: JobPriority | str) -> str:
    """The broker list holding `queue`'s messages of `priority`."""
    step = message_priority(priority)
    return queue if step == 0 else f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}"


def account_of(*, user_id: uuid.UUID | None, project_id: uuid.UUID | None) -> str:
    """The fairness key of a job: who started it, else its project; '' for the platform's
    own jobs (no fairness)."""
    if user_id is not None:
        return f"u:{user_id}"
    if project_id is not None:
        return f"p:{project_id}"
    return ""


def _waiting_key(queue: str) -> str:
    return f"{_PREFIX}:{queue}:waiting"


def _counts_key(queue: str) -> str:
    return f"{_PREFIX}:{queue}:counts"


def _running_key(queue: str, account: str) -> str:
    return f"{_PREFIX}:{queue}:run:{account}"


def _slots_key(queue: str) -> str:
    return f"{_PREFIX}:{queue}:slots"


def _picks_key(queue: str) -> str:
    return f"{_PREFIX}:{queue}:picks"


# Clearing a waiting mark, shared by the scripts: the count of its account goes down with it
# (and the field goes once at zero, so the hash holds only accounts that wait).
_UNMARK = """
local function unmark(waiting, counts, job)
  local account = redis.call('HGET', waiting, job)
  if not account then return 0 end
  redis.call('HDEL', waiting, job)
  for _, field in ipairs({account, '*'}) do
    if redis.call('HINCRBY', counts, field, -1) <= 0 then redis.call('HDEL', counts, field) end
  end
  return 1
end
"""

# KEYS: waiting, counts. ARGV: job id, account.
MARK_WAITING = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('HINCRBY', KEYS[2], '*', 1)
  return 1
end
return 0
"""

# KEYS: waiting, counts. ARGV: job ids.
UNMARK_WAITING = (
    _UNMARK
    + """
local removed = 0
for _, job in ipairs(ARGV) do removed = removed + unmark(KEYS[1], KEYS[2], job) end
return removed
"""
)

# KEYS: waiting, counts, running (of the account), slots, picks, bulk list, front list.
# ARGV: job id, account ('' = none), bulk ('1'/'0'), now ms, lease ms, share, slot ms,
#       every Nth pick, worker slot id.
# Returns 0 (with a waiting job of another account, if one is found): over its share while
# others wait (not claimed); 1: go ahead; 2: go ahead, and
# the oldest bulk message was moved to the front of the queue; 3: go ahead, the job already
# held a slot (delivered again: a duplicate, or its worker died under it).
ACQUIRE = (
    _UNMARK
    + """
local now = tonumber(ARGV[4])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[7]), ARGV[9])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local granted = 1
if ARGV[2] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
    granted = 3
  else
    local running = redis.call('ZCARD', KEYS[3])
    local limit = math.max(1, math.floor(tonumber(ARGV[6]) * redis.call('ZCARD', KEYS[4])))
    if running >= limit then
      local all = tonumber(redis.call('HGET', KEYS[2], '*') or '0')
      local own = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
      if all - own > 0 then
        -- Refused; name a waiting job of another account (at random among a few) for the
        -- worker to send to the front, so the free slot goes to another account now.
        local picks = redis.call('HRANDFIELD', KEYS[1], 16, 'WITHVALUES')
        for i = 1, #picks, 2 do
          if picks[i + 1] ~= ARGV[2] then return {0, picks[i]} end
        end
        return {0}
      end
    end
  end
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[1])
  redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]))
end
unmark(KEYS[1], KEYS[2], ARGV[1])
if ARGV[3] == '1' then
  redis.call('SET', KEYS[5], 0)
  return granted
end
if redis.call('INCR', KEYS[5]) >= tonumber(ARGV[8]) then
  local message = redis.call('RPOP', KEYS[6])
  if message then
    redis.call('RPUSH', KEYS[7], message)
    redis.call('SET', KEYS[5], 0)
    if granted == 1 then granted = 2 end
  end
end
return granted
"""
)

# KEYS: running (of the account), slots. ARGV: job id, worker slot id, slot until ms.
RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[2])
return 1
"""

# KEYS: running, slots. ARGV: job id, worker slot id, lease until ms, lease ms.
EXTEND = """
redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[2])
return 1
"""


@dataclass(frozen=True, slots=True)
class Hold:
    """A worker slot a running stage holds for its account on a queue."""

    queue: str
    account: str
    job_id: str
    slot: str
    # Taken by this delivery (not held already by an earlier one, which may still run).
    fresh: bool = True


class Fairness:
    """The scripts, on the broker's Redis (one client per process)."""

    def __init__(self, client: "redis.Redis[bytes]") -> None:
        self.client = client
        self._mark: Script = client.register_script(MARK_WAITING)
        self._unmark: Script = client.register_script(UNMARK_WAITING)
        self._acquire: Script = client.register_script(ACQUIRE)
        self._release: Script = client.register_script(RELEASE)
        self._extend: Script = client.register_script(EXTEND)

    def mark_waiting(self, *, queue: str, job_id: str, account: str) -> bool:
        if not account:
            return False
        return bool(
            self._mark(keys=[_waiting_key(queue), _counts_key(queue)], args=[job_id, account])
        )

    def unmark_waiting(self, *, queue: str, job_ids: list[str]) -> int:
        if not job_ids:
            return 0
        return int(self._unmark(keys=[_waiting_key(queue), _counts_key(queue)], args=job_ids))

    def acquire(
        self,
        *,
        queue: str,
        job_id: str,
        account: str,
        priority: JobPriority | str,
        slot: str,
        now: float | None = None,
        share: float | None = None,
        every: int | None = None,
        lease_seconds: float | None = None,
    ) -> tuple[int, str | None]:
        """0: over the account's share while others wait; 1: claim it; 2: claim it, and a
        bulk message was moved to the front of the queue; 3: claim it, it held a slot
        already (delivered again). With 0 comes a waiting job of another account, if
        one was found, to send to the front of the queue."""
        now_ms = int((time.time() if now is None else now) * 1000)
        lease_ms = int(1000 * (lease_seconds or settings.JOB_LEASE_SECONDS))
        if share is None:
            share = settings.JOB_FAIR_SHARE
        if share >= 1:
            account = ""  # fairness off: everyone may use every slot
        keys = [
            _waiting_key(queue),
            _counts_key(queue),
            _running_key(queue, account),
            _slots_key(queue),
            _picks_key(queue),
            priority_list(queue, JobPriority.bulk),
            queue,
        ]
        bulk = JobPriority(priority) is JobPriority.bulk or not settings.JOB_PRIORITIES_ENABLED
        args = [
            job_id,
            account,
            "1" if bulk else "0",
            now_ms,
            lease_ms,
            repr(float(share)),
            lease_ms,
            every or settings.JOB_BULK_EVERY_NTH_PICK,
            slot,
        ]
        reply = self._acquire(keys=keys, args=args)
        if isinstance(reply, list):
            other = reply[1].decode() if len(reply) > 1 else None
            return int(reply[0]), other
        return int(reply), None

    def release(self, hold: Hold, *, pickup: tuple[JobPriority, float] | None = None) -> None:
        """Frees the slot; `pickup` (priority, seconds) is counted in the same round trip."""
        until = int((time.time() + settings.JOB_LEASE_SECONDS) * 1000)
        with self.client.pipeline(transaction=False) as pipe:
            if hold.account:
                self._release(
                    keys=[_running_key(hold.queue, hold.account), _slots_key(hold.queue)],
                    args=[hold.job_id, hold.slot, until],
                    client=pipe,
                )
            if pickup is not None:
                observe_pickup(pipe, *pickup)
            pipe.execute()

    def observe(self, pickup: tuple[JobPriority, float]) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            observe_pickup(pipe, *pickup)
            pipe.execute()

    def extend(self, hold: Hold, *, lease_seconds: float) -> None:
        if not hold.account:
            return
        until = int((time.time() + lease_seconds) * 1000)
        self._extend(
            keys=[_running_key(hold.queue, hold.account), _slots_key(hold.queue)],
            args=[hold.job_id, hold.slot, until, int(lease_seconds * 1000)],
        )

    def waiting(self, queue: str) -> dict[str, str]:
        """The queue's waiting marks: job id -> account."""
        raw = self.client.hgetall(_waiting_key(queue))
        return {key.decode(): value.decode() for key, value in raw.items()}

    def counts(self, queue: str) -> dict[str, int]:
        raw = self.client.hgetall(_counts_key(queue))
        return {key.decode(): int(value) for key, value in raw.items()}

    def running(self, queue: str, account: str, *, now: float | None = None) -> int:
        now_ms = int((time.time() if now is None else now) * 1000)
        return int(self.client.zcount(_running_key(queue, account), now_ms, "+inf"))


def observe_pickup(pipe: Any, priority: JobPriority, seconds: float) -> None:
    """Counts one pickup (queued -> first claimed) in the Prometheus histogram of its
    priority: cumulative buckets, count and sum, in one Redis hash per priority."""
    key = f"{PICKUP_KEY}:{priority.value}"
    for bound in PICKUP_BUCKETS:
        if seconds <= bound:
            pipe.hincrby(key, repr(bound), 1)
    pipe.hincrby(key, "count", 1)
    pipe.hincrbyfloat(key, "sum", max(0.0, seconds))


@dataclass(frozen=True, slots=True)
class PickupHistogram:
    buckets: list[int]  # cumulative, by PICKUP_BUCKETS
    count: int
    total: float


def pickup_histograms(client: "redis.Redis[bytes]") -> dict[JobPriority, PickupHistogram]:
    """Pickup latency by priority since Redis was last emptied, for /metrics."""
    with client.pipeline(transaction=False) as pipe:
        for priority in JobPriority:
            pipe.hgetall(f"{PICKUP_KEY}:{priority.value}")
        replies = pipe.execute()
    found: dict[JobPriority, PickupHistogram] = {}
    for priority, raw in zip(JobPriority, replies, strict=True):
        values = {key.decode(): value for key, value in raw.items()}
        found[priority] = PickupHistogram(
            buckets=[int(values.get(repr(bound), 0)) for bound in PICKUP_BUCKETS],
            count=int(values.get("count", 0)),
            total=float(values.get("sum", 0.0)),
        )
    return found


_fairness: dict[int, Fairness] = {}
_fairness_lock = threading.Lock()


def fairness() -> Fairness:
    """This process's scripts on the broker's Redis (a forked child makes its own)."""
    pid = os.getpid()
    found = _fairness.get(pid)
    if found is None:
        from app.jobs.stats import broker_client

        with _fairness_lock:
            found = _fairness.get(pid)
            if found is None:
                _fairness.clear()
                found = _fairness[pid] = Fairness(broker_client())
    return found


def slot_id() -> str:
    """This worker slot: the process, and the pool thread under `--pool threads`."""
    return f"{os.uname().nodename}:{os.getpid()}:{threading.get_ident()}"


def fair_limit(share: float, slots: int) -> int:
    """The most slots one account holds while others wait (what ACQUIRE computes)."""
    return max(1, math.floor(share * slots))
