"""What was published: the messages waiting in the test Redis's queues when no worker runs."""

import json

import redis


def published_job_ids(client: "redis.Redis[bytes]") -> list[str]:
    """Ids (the job ids) of the task messages waiting in every queue."""
    ids = []
    for key in client.scan_iter():
        if client.type(key) == b"list" and not key.startswith(b"test:"):
            ids += [json.loads(raw)["headers"]["id"] for raw in client.lrange(key, 0, -1)]
    return ids
