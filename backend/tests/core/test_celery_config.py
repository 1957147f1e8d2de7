"""The Celery app's configuration and Beat schedule, as the platform relies on them."""

import importlib

import pytest
from celery.schedules import crontab

from app.core.celery_app import QUEUES, celery_app
from app.core.config import settings
from app.core.domains import (
    DOMAINS,
    BeatEntry,
    Domain,
    DomainDeclarationError,
    declared_domains,
    task_routes,
)


def _import_worker_task_modules() -> None:
    """What a worker does at start: import every module in `include`."""
    for module in celery_app.conf.include:
        importlib.import_module(module)


def test_every_scheduled_task_is_registered() -> None:
    # Beat publishes by name: a name no worker registered is a message nobody consumes.
    _import_worker_task_modules()
    schedule = celery_app.conf.beat_schedule
    assert schedule
    missing = {
        entry: spec["task"]
        for entry, spec in schedule.items()
        if spec["task"] not in celery_app.tasks
    }
    assert not missing, f"Beat entries naming tasks no worker registers: {missing}"


def test_every_task_module_imports() -> None:
    _import_worker_task_modules()


def test_the_schedule_has_only_built_domains() -> None:
    # The Search Console, SERP and Ads syncs come with their domains (each declares its own
    # entry): Beat publishes only tasks of domains listed in DOMAINS.
    from app.core.domains import DOMAINS

    scheduled = {spec["task"] for spec in celery_app.conf.beat_schedule.values()}
    assert {name.rsplit(".", 2)[0] for name in scheduled} <= set(DOMAINS)


def test_schedule_times_are_utc() -> None:
    by_task = {spec["task"]: spec["schedule"] for spec in celery_app.conf.beat_schedule.values()}
    expected = {
        "app.audits.tasks.run_scheduled_audits": crontab(day_of_week=0, hour=1, minute=0),
        "app.maintenance.tasks.cleanup_old_data": crontab(hour=5, minute=0),
        "app.maintenance.tasks.health_check": crontab(minute="*/15"),
        # Sundays, after the clean-up it reclaims the deletions of, away from the audits.
        "app.maintenance.tasks.optimize_db": crontab(day_of_week=0, hour=6, minute=0),
        "app.jobs.tasks.rescue_stalled_jobs": 60.0,
        "app.gsc.tasks.sync_all_properties": crontab(hour=2, minute=0),
        "app.ads.tasks.sync_all_accounts": crontab(hour=4, minute=0),
        "app.serp.tasks.refresh_all_due_keywords": crontab(hour=3, minute=0),
        "app.notifications.tasks.dispatch_events": 3.0,
        "app.notifications.tasks.send_deliveries": 30.0,
        # Hourly: each user's digest goes out when it is 07:00 in their time zone.
        "app.notifications.tasks.send_digests": crontab(minute=0),
    }
    assert by_task == expected
    assert celery_app.conf.timezone == "UTC"
    assert celery_app.conf.enable_utc is True


def test_the_domains_declare_what_the_app_collects() -> None:
    domains = declared_domains()
    assert [d.tasks for d in domains if d.tasks] == celery_app.conf.include
    assert task_routes(domains) == {
        "app.links.tasks.*": {"queue": "low"},
        "app.audits.tasks.render_pages": {"queue": "render"},
        "app.maintenance.tasks.run_optimize_db": {"queue": "low"},
        "app.notifications.tasks.*": {"queue": "low"},
    }
    assert task_routes(domains).items() <= celery_app.conf.task_routes.items()
    assert {d.name for d in domains} == {package.rsplit(".", 1)[1] for package in DOMAINS}


@pytest.mark.parametrize(
    ("entry", "task", "refusal"),
    [
        ("stray", "app.audits.tasks.crawl_site", "outside its package"),
        ("audit-weekly", "app.dashboard.tasks.x", "'audit-weekly' is declared twice"),
    ],
)
def test_a_declaration_is_refused_when_it_reaches_outside_or_repeats_a_name(
    monkeypatch: pytest.MonkeyPatch, entry: str, task: str, refusal: str
) -> None:
    from app.dashboard import domain as dashboard_domain

    declaration = Domain(
        name="dashboard",
        tasks="app.dashboard.tasks",
        schedule={entry: BeatEntry(task=task, schedule=1.0)},
    )
    monkeypatch.setattr(dashboard_domain, "domain", declaration)
    with pytest.raises(DomainDeclarationError, match=refusal):
        declared_domains()


def test_queues_are_declared_and_routed_by_domain() -> None:
    conf = celery_app.conf
    assert {queue.name for queue in conf.task_queues} == set(QUEUES) == {"default", "render", "low"}
    assert conf.task_default_queue == "default"
    assert conf.task_create_missing_queues is False
    router = celery_app.amqp.router  # resolves a task name the way publishing does

    def queue_of(task_name: str) -> str:
        return str(router.route({}, task_name)["queue"].name)

    assert queue_of("app.audits.tasks.render_pages") == "render"
    assert queue_of("app.audits.tasks.crawl_site") == "default"
    assert queue_of("app.maintenance.tasks.run_cleanup") == "default"
    assert queue_of("app.maintenance.tasks.run_optimize_db") == "low"


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
