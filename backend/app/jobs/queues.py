"""What the broker knows of the queues: which live workers consume each one, and which jobs
have a message in it. The rescue sweep uses both to publish a job again only when its message
is really gone, and to fail a job that waits in a queue nobody consumes; the stats show the
queues that have jobs but no consumer.

Consumers come from Celery's `active_queues` inspect broadcast, which waits its whole timeout
for replies; a queue also counts as consumed while a job of it runs under a live lease (a
worker busy with a solo pool answers no broadcast).
"""

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.celery_app import celery_app
from app.core.logging import get_logger

logger = get_logger(__name__)

CONSUMER_PROBE_TIMEOUT_SECONDS = 1.0
CONSUMER_CACHE_SECONDS = 10.0
# A queue (or the broker's set of delivered, unacknowledged messages) deeper than this is not
# read message by message: its jobs are taken as present, so nothing is published twice.
QUEUE_SCAN_LIMIT = 10_000
# kombu's Redis transport: delivered but unacknowledged messages, by delivery tag.
KOMBU_UNACKED_KEY = "unacked"

_RUNNING_QUEUES = sa.text("""
    SELECT DISTINCT queue FROM job_runs WHERE status = 'running' AND lease_expires_at > now()
""")
_WAITING_QUEUES = sa.text("""
    SELECT DISTINCT queue FROM job_runs WHERE status IN ('queued', 'retrying')
""")


def live_consumers(timeout: float = CONSUMER_PROBE_TIMEOUT_SECONDS) -> dict[str, list[str]] | None:
    """Queue name -> the workers consuming it, from the workers that answer in time; None
    when the broker cannot be reached (nothing can be said)."""
    try:
        replies = celery_app.control.inspect(timeout=timeout).active_queues()
    except Exception as exc:
        logger.warning("queue_consumers_unavailable", error=f"{type(exc).__name__}: {exc}")
        return None
    consumers: dict[str, list[str]] = {}
    for node, queues in (replies or {}).items():
        for queue in queues or []:
            consumers.setdefault(str(queue["name"]), []).append(node)
    return consumers


def consumed_queues(connection: Connection, consumers: dict[str, list[str]]) -> set[str]:
    """Queues with a live consumer: one answered the broadcast, or runs a job of the queue."""
    running = {str(row[0]) for row in connection.execute(_RUNNING_QUEUES)}
    return set(consumers) | running


@dataclass(frozen=True, slots=True)
class QueuedMessages:
    """Ids of the jobs with a message in the broker: waiting in a queue, or delivered to a
    worker and not yet acknowledged."""

    job_ids: set[str]
    unread: set[str]  # queues too deep to read, or unreadable: every job taken as present
    unacked_unread: bool = False

    def holds(self, *, job_id: str, queue: str) -> bool:
        return self.unacked_unread or queue in self.unread or job_id in self.job_ids


def _priority_keys(queue: str) -> list[str]:
    from app.jobs.stats import priority_keys

    return priority_keys(queue)


def _envelope_job_id(envelope: Any) -> str | None:
    # The task id (= the job id) of a kombu message: header `id` (Celery's protocol 2).
    if not isinstance(envelope, dict):
        return None
    headers = envelope.get("headers") or {}
    properties = envelope.get("properties") or {}
    found = headers.get("id") or properties.get("correlation_id")
    return None if found is None else str(found)


def _message_job_id(raw: bytes) -> str | None:
    try:
        return _envelope_job_id(json.loads(raw))
    except ValueError:
        return None


def queued_messages(client: "redis.Redis[bytes]", queues: Iterable[str]) -> QueuedMessages:
    """Reads the messages of `queues` (bounded by QUEUE_SCAN_LIMIT each) and the unacked set."""
    job_ids: set[str] = set()
    unread: set[str] = set()
    for queue in queues:
        keys = _priority_keys(queue)
        try:
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                depth = sum(int(length) for length in pipe.execute())
            if depth > QUEUE_SCAN_LIMIT:
                unread.add(queue)
                continue
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.lrange(key, 0, QUEUE_SCAN_LIMIT)
                for messages in pipe.execute():
                    job_ids.update(filter(None, map(_message_job_id, messages)))
        except redis.RedisError as exc:
            logger.warning("queue_read_failed", queue=queue, error=repr(exc))
            unread.add(queue)
    unacked_unread = False
    try:
        if client.hlen(KOMBU_UNACKED_KEY) > QUEUE_SCAN_LIMIT:
            unacked_unread = True
        else:
            for value in client.hvals(KOMBU_UNACKED_KEY):
                delivered = json.loads(value)  # [message, exchange, routing key]
                found = _envelope_job_id(delivered[0])
                if found is not None:
                    job_ids.add(found)
    except (redis.RedisError, ValueError, IndexError, TypeError) as exc:
        logger.warning("unacked_read_failed", error=repr(exc))
        unacked_unread = True
    return QueuedMessages(job_ids=job_ids, unread=unread, unacked_unread=unacked_unread)


# --- For the stats -----------------------------------------------------------------------

_consumer_cache: dict[str, Any] = {"expires": 0.0, "consumers": None}
_consumer_lock = threading.Lock()


def _cached_consumers() -> dict[str, list[str]] | None:
    with _consumer_lock:
        if time.monotonic() >= _consumer_cache["expires"]:
            _consumer_cache["consumers"] = live_consumers(timeout=0.5)
            _consumer_cache["expires"] = time.monotonic() + CONSUMER_CACHE_SECONDS
        consumers: dict[str, list[str]] | None = _consumer_cache["consumers"]
        return consumers


def forget_consumers() -> None:
    """Drop the cached consumers (tests that start or stop workers)."""
    with _consumer_lock:
        _consumer_cache["expires"] = 0.0


def queues_without_consumer(connection: Connection) -> list[str]:
    """Queues holding queued or retrying jobs that no live worker consumes (empty when the
    workers cannot be asked)."""
    waiting = {str(row[0]) for row in connection.execute(_WAITING_QUEUES)}
    if not waiting:
        return []
    consumers = _cached_consumers()
    if consumers is None:
        return []
    return sorted(waiting - consumed_queues(connection, consumers))
