"""Publishing a job's message: always after its row is committed, with the job id as the
Celery task id.

Broker down: publishing fails fast (a short retry policy), the failure is logged and the job
simply stays `queued` (or `retrying`); the rescue sweep publishes it again once the broker is
back. The caller (an API route) still answers 202 with the job: the row is the promise, the
message is only a wake-up call, and the claim makes an extra message harmless.
"""

from dataclasses import dataclass
from typing import Any

from celery import Celery, Task

from app.core.celery_app import celery_app
from app.core.logging import get_logger

logger = get_logger(__name__)

# Fail fast when Redis is unreachable: the sweep is the retry.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.1}


@dataclass(frozen=True, slots=True)
class StageTask:
    task: Task  # type: ignore[type-arg]

    @property
    def queue(self) -> str:
        # Resolved when publishing, not at import: routes may be configured after the task.
        return queue_of(self.task.name)


_stage_tasks: dict[tuple[str, str], StageTask] = {}
_retry_stages: dict[tuple[str, str], str] = {}
_task_modules_imported = False


def register_stage(
    job_type: str,
    stage: str,
    task: Task,  # type: ignore[type-arg]
    *,
    retry_from: str | None = None,
) -> None:
    _stage_tasks[(job_type, stage)] = StageTask(task=task)
    _retry_stages[(job_type, stage)] = retry_from or stage


def retry_stage(job_type: str, stage: str) -> str:
    """Where a retried job starts again when the original ended in `stage`."""
    stage_task(job_type, stage)  # imports the task modules if needed
    return _retry_stages.get((job_type, stage), stage)


def _import_task_modules() -> None:
    # Importing a domain's tasks module registers its stages (once per process).
    global _task_modules_imported
    if not _task_modules_imported:
        _task_modules_imported = True
        celery_app.loader.import_default_modules()


def stage_task(job_type: str, stage: str) -> StageTask:
    """The task that runs `stage` of jobs of `job_type` (importing the task modules once)."""
    found = _stage_tasks.get((job_type, stage))
    if found is None:
        _import_task_modules()
        found = _stage_tasks.get((job_type, stage))
    if found is None:
        raise LookupError(f"no task registered for stage {stage!r} of {job_type} jobs")
    return found


def registered_job_types() -> frozenset[str]:
    """The job types with a task for at least one stage: the ones that can run."""
    _import_task_modules()
    return frozenset(job_type for job_type, _ in _stage_tasks)


_queues: dict[str, str] = {}


def queue_of(task_name: str) -> str:
    """The queue Celery routes `task_name` to (asked once per task: routes are set when the
    app is configured, before anything is published)."""
    queue_name = _queues.get(task_name)
    if queue_name is None:
        route = celery_app.amqp.router.route({}, task_name)
        queue = route.get("queue")
        queue_name = str(getattr(queue, "name", queue or celery_app.conf.task_default_queue))
        _queues[task_name] = queue_name
    return queue_name


def publish_job(
    *,
    job_id: str,
    job_type: str,
    stage: str,
    countdown: float | None = None,
    app: Celery | None = None,
) -> bool:
    """Sends the job's message; False (logged) when the broker cannot take it."""
    target = stage_task(job_type, stage)
    options: dict[str, Any] = {
        "task_id": job_id,
        "queue": target.queue,
        "retry_policy": PUBLISH_RETRY_POLICY,
    }
    if countdown:
        options["countdown"] = countdown
    try:
        if app is None:
            target.task.apply_async(args=(job_id,), **options)
        else:
            app.send_task(target.task.name, args=(job_id,), **options)
    except Exception as exc:
        # Left for the sweep: the row stays queued/retrying and is published again later.
        logger.warning(
            "job_publish_failed", job_id=job_id, stage=stage, error=f"{type(exc).__name__}: {exc}"
        )
        return False
    return True
