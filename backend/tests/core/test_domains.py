"""Job types are declared by their domains (domain.py), not kept in a central list."""

import importlib
import subprocess
import sys

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.celery_app import celery_app
from app.core.domains import declared_domains, job_types
from app.jobs.models import declared_job_types
from tests.builders import auth_headers, create_user

# In the order of DOMAINS, then of each declaration.
DECLARED_JOB_TYPES = [
    "gsc_sync",
    "gsc_backfill",
    "ads_sync",
    "links_ingest",
    "serp_refresh",
    "audit",
    "maintenance",
    "optimize_db",
]


def test_job_types_are_those_the_domains_declare() -> None:
    assert list(declared_job_types()) == DECLARED_JOB_TYPES
    assert declared_job_types() == job_types(declared_domains())


def test_every_declared_entry_task_is_registered_by_its_tasks_module() -> None:
    # What makes a job type startable: its entry tasks exist once a worker loaded the modules.
    for module in celery_app.conf.include:
        importlib.import_module(module)
    entry_tasks = {task for spec in declared_job_types().values() for task in spec.entry_tasks}
    assert entry_tasks
    assert entry_tasks <= set(celery_app.tasks)


def test_the_api_documents_and_accepts_only_declared_job_types(
    client: TestClient, session: Session
) -> None:
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["JobType"]
    assert schema["enum"] == DECLARED_JOB_TYPES
    # A type no domain declares is refused as a filter, like any invalid value.
    headers = auth_headers(create_user(session))
    assert client.get("/api/v1/jobs?job_type=no_such_job", headers=headers).status_code == 422
    assert client.get("/api/v1/jobs?job_type=maintenance", headers=headers).status_code == 200


def test_the_clean_up_knows_every_declared_rule_without_loading_task_modules() -> None:
    # A fresh process (the API, the CLI) that never imported a domain's tasks module.
    probe = (
        "import sys; from app.maintenance import service; "
        "print([rule.name for rule in service.retention_rules()]); "
        "print('app.audits.tasks' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split("\n")
    rules = (
        "['job_runs', 'job_events', 'gsc_orphan_rows', 'orphan_backlinks', "
        "'stale_link_uploads', 'serp_snapshots', 'serp_rank_changes', 'audit_runs', "
        "'notification_events']"
    )
    assert output[:2] == [rules, "False"]


def test_the_large_tables_the_optimization_vacuums_are_tables_of_the_schema() -> None:
    from sqlmodel import SQLModel

    from app.core.model_registry import import_all_models
    from app.maintenance import optimize

    import_all_models()
    tables = optimize.declared_large_tables()
    # The ones issue 16 names (job runs, audit pages and links, the synced data) at least.
    assert {
        "job_runs",
        "audit_pages",
        "audit_links",
        "gsc_rows",
        "ads_campaign_days",
        "serp_snapshots",
        "backlinks",
    } <= set(tables)
    assert set(tables) <= set(SQLModel.metadata.tables)
    assert len(tables) == len(set(tables))
