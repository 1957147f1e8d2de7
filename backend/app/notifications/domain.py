"""Notifications: webhooks, email and the daily digest, made from the job runtime's outbox
of terminal transitions (docs/architecture.md, "Notifications")."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, RetentionSpec

domain = Domain(
    name="notifications",
    models="app.notifications.models",
    tasks="app.notifications.tasks",
    routes="app.notifications.routes",
    queues={"app.notifications.tasks.*": "low"},
    schedule={
        "notifications-dispatch": BeatEntry(
            task="app.notifications.tasks.dispatch_events",
            schedule=3.0,
            options={"expires": 3},
        ),
        # Retries are scheduled by the sender itself; this only catches what a lost
        # message or a restart left waiting.
        "notifications-send": BeatEntry(
            task="app.notifications.tasks.send_deliveries",
            schedule=30.0,
            options={"expires": 30},
        ),
        "notifications-digest": BeatEntry(
            task="app.notifications.tasks.send_digests",
            schedule=crontab(minute=0),
        ),
    },
    retention={"notification_events": RetentionSpec("app.notifications.service.purge_old_events")},
    large_tables=(
        "notification_events",
        "notification_deliveries",
        "notification_delivery_attempts",
    ),
)
