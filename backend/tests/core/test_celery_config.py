"""The Celery app's configuration and Beat schedule, as the platform relies on them."""

import importlib

import pytest
from celery.schedules import crontab

from app.core.celery_app import BEAT_SCHEDULE, QUEUES, TASK_MODULES, celery_app
from app.core.config import settings

# Scheduled tasks whose domain is built by a later issue. Each entry turns into an
# unexpected pass (a failure, strict=True) the day the task exists: then delete it here.
NOT_YET_BUILT = {
    "app.gsc.tasks.sync_all_properties": "built by the Search Console issue (later)",
    "app.serp.tasks.refresh_all_due_keywords": "built by the SERP issue (later)",
    "app.ads.tasks.sync_all_accounts": "built by the Ads issue (later)",
}


def _import_worker_task_modules() -> None:
    """What a worker does at start: import every module in `include`."""
    for module in celery_app.conf.include:
        importlib.import_module(module)


def _schedule_params() -> list[object]:
    params: list[object] = []
    for entry, spec in sorted(BEAT_SCHEDULE.items()):
        name = spec["task"]
        marks = []
        if name in NOT_YET_BUILT:
            marks.append(pytest.mark.xfail(strict=True, reason=NOT_YET_BUILT[name]))
        params.append(pytest.param(entry, name, marks=marks, id=entry))
    return params


@pytest.mark.parametrize(("entry", "task_name"), _schedule_params())
def test_scheduled_task_is_registered(entry: str, task_name: str) -> None:
    _import_worker_task_modules()
    module = task_name.rsplit(".", 1)[0]
    assert module in TASK_MODULES, f"{module} is not in TASK_MODULES: no worker would load it"
    assert task_name in celery_app.tasks, f"Beat entry {entry!r} names unknown task {task_name}"


def test_every_task_module_imports() -> None:
    _import_worker_task_modules()


def test_not_yet_built_names_are_still_scheduled() -> None:
    # A renamed schedule entry would make its xfail above pass for the wrong reason.
    scheduled = {spec["task"] for spec in BEAT_SCHEDULE.values()}
    assert set(NOT_YET_BUILT) <= scheduled


def test_seed_schedule_times_are_utc() -> None:
    by_task = {spec["task"]: spec["schedule"] for spec in BEAT_SCHEDULE.values()}
    expected = {
        "app.gsc.tasks.sync_all_properties": crontab(hour=2, minute=0),
        "app.serp.tasks.refresh_all_due_keywords": crontab(hour=3, minute=0),
        "app.ads.tasks.sync_all_accounts": crontab(hour=4, minute=0),
        "app.audits.tasks.run_scheduled_audits": crontab(day_of_week=0, hour=1, minute=0),
        "app.maintenance.tasks.cleanup_old_data": crontab(hour=5, minute=0),
    }
    for task, schedule in expected.items():
        assert by_task[task] == schedule, task
    assert celery_app.conf.timezone == "UTC"
    assert celery_app.conf.enable_utc is True


def test_queues_are_declared_and_routed_by_domain() -> None:
    conf = celery_app.conf
    assert {queue.name for queue in conf.task_queues} == set(QUEUES) == {"default", "render", "low"}
    assert conf.task_default_queue == "default"
    assert conf.task_create_missing_queues is False
    router = celery_app.amqp.router  # resolves a task name the way publishing does

    def queue_of(task_name: str) -> str:
        return str(router.route({}, task_name)["queue"].name)

    assert queue_of("app.audits.tasks.render_pages") == "render"
    assert queue_of("app.links.tasks.ingest_backlinks") == "low"
    assert queue_of("app.audits.tasks.crawl_site") == "default"
    assert queue_of("app.gsc.tasks.sync_property") == "default"


def test_reliability_settings() -> None:
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert (conf.task_time_limit, conf.task_soft_time_limit) == (3600, 3300)
    assert conf.task_soft_time_limit < conf.task_time_limit
    # A message still running must not be handed to a second worker (celery#5935).
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.result_expires == 24 * 3600


def test_json_only_and_broker_from_settings() -> None:
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert conf.broker_url == settings.broker_url
    assert conf.result_backend == settings.result_backend_url


def test_workers_and_beat_reconnect_to_the_broker_forever() -> None:
    conf = celery_app.conf
    assert conf.broker_connection_retry is True
    assert conf.broker_connection_max_retries is None  # Celery's default gives up after 100
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert conf.broker_transport_options["socket_connect_timeout"] > 0
