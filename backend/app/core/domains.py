"""The platform's domains, and what each one plugs into it.

`DOMAINS` is the one list a new domain joins (one line). Each package named there holds a
`domain.py` whose `domain = Domain(...)` declares what the platform collects from it: the
module of its tables, its Celery task module, the queue of each of its tasks that does not
run on `default`, its Beat entries, its routes and its job types. core/celery_app.py,
core/model_registry.py, api/router.py and the job runtime read these declarations instead
of keeping lists of their own (docs/architecture.md, "Add a domain").

A declaration is names and data only; it imports nothing of its domain. Reading all of them
is cheap and cannot make an import cycle: celery_app reads them while it is being created,
before any task module (which imports celery_app) is.
"""

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from celery.schedules import crontab

# The order is the order routes are mounted in: jobs first, because GET /jobs/{id} is polled
# by every open dashboard and routes match in order.
DOMAINS: tuple[str, ...] = (
    "app.jobs",
    "app.users",
    "app.projects",
    "app.connections",
    "app.gsc",
    "app.ads",
    "app.links",
    "app.serp",
    "app.audits",
    "app.maintenance",
    "app.health",
    "app.dashboard",
    "app.notifications",
)


@dataclass(frozen=True, slots=True)
class BeatEntry:
    """A Beat schedule entry: `task` (its full name) every `schedule` seconds or on a UTC
    crontab; `options` are its publish options (e.g. `expires`)."""

    task: str
    schedule: float | crontab
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobTypeSpec:
    """A job type: its label for people, and the tasks a new job of this type can start in
    (its first stages; later stages are reached by hand-off). The type can run once they
    are registered, i.e. once its tasks module is loaded."""

    label: str
    entry_tasks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RetentionSpec:
    """A clean-up rule: `purge(session, batch)` (a dotted path) deletes at most `batch` expired
    items of its own unit and returns how many; `batch` None takes the clean-up's row batch
    (a rule whose items are whole audits, thousands of rows each, asks for a few)."""

    purge: str
    batch: int | None = None


@dataclass(frozen=True, slots=True)
class Domain:
    """What a domain plugs in. Module fields name modules of the domain's own package;
    `queues` maps its task names (or glob patterns of them) to a queue other than
    `default`; `schedule` maps Beat entry names (unique across the platform) to entries;
    `retention` maps clean-up rule names to their rules, which the daily clean-up runs;
    `large_tables` names its tables that grow with use (synced data, job history), which
    the weekly database optimization vacuums and analyzes."""

    name: str
    models: str | None = None
    tasks: str | None = None
    routes: str | None = None  # a module with `router`, mounted under /api/v1
    queues: Mapping[str, str] = field(default_factory=dict)
    schedule: Mapping[str, BeatEntry] = field(default_factory=dict)
    job_types: Mapping[str, JobTypeSpec] = field(default_factory=dict)
    retention: Mapping[str, RetentionSpec] = field(default_factory=dict)
    large_tables: tuple[str, ...] = ()


class DomainDeclarationError(Exception):
    """Two domains claim the same name, or a declaration points outside its domain."""


def declared_domains(packages: Sequence[str] | None = None) -> tuple[Domain, ...]:
    """The declarations of `packages` (default: DOMAINS), each `<package>.domain.domain`,
    checked together."""
    domains: list[Domain] = []
    for package in DOMAINS if packages is None else packages:
        domain = importlib.import_module(f"{package}.domain").domain
        if not isinstance(domain, Domain):
            raise DomainDeclarationError(f"{package}.domain.domain is not a Domain")
        _check_own_names(package, domain)
        domains.append(domain)
    _check_unique(domains)
    return tuple(domains)


def _check_own_names(package: str, domain: Domain) -> None:
    own = f"{package}."
    modules = [m for m in (domain.models, domain.tasks, domain.routes) if m is not None]
    tasks = [
        *domain.queues,
        *(entry.task for entry in domain.schedule.values()),
        *(task for spec in domain.job_types.values() for task in spec.entry_tasks),
    ]
    for name in (*modules, *tasks, *(rule.purge for rule in domain.retention.values())):
        if not name.startswith(own):
            raise DomainDeclarationError(f"{package} declares {name!r}, outside its package")
    for name in tasks:
        if domain.tasks is None or not name.startswith(f"{domain.tasks}."):
            raise DomainDeclarationError(f"{package}: {name!r} is not in its tasks module")


def _check_unique(domains: Sequence[Domain]) -> None:
    for what, names in (
        ("domain", [d.name for d in domains]),
        ("Beat entry", [entry for d in domains for entry in d.schedule]),
        ("job type", [job_type for d in domains for job_type in d.job_types]),
        ("retention rule", [rule for d in domains for rule in d.retention]),
        ("large table", [table for d in domains for table in d.large_tables]),
    ):
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise DomainDeclarationError(f"{what} {name!r} is declared twice")
            seen.add(name)


def task_modules(domains: Iterable[Domain]) -> list[str]:
    return [d.tasks for d in domains if d.tasks is not None]


def model_modules(domains: Iterable[Domain]) -> list[str]:
    return [d.models for d in domains if d.models is not None]


def route_modules(domains: Iterable[Domain]) -> list[str]:
    return [d.routes for d in domains if d.routes is not None]


def beat_schedule(domains: Iterable[Domain]) -> dict[str, dict[str, Any]]:
    """Celery's `beat_schedule`: every domain's entries."""
    return {
        name: {"task": entry.task, "schedule": entry.schedule, "options": dict(entry.options)}
        for domain in domains
        for name, entry in domain.schedule.items()
    }


def task_routes(domains: Iterable[Domain]) -> dict[str, dict[str, str]]:
    """Celery's `task_routes`: the tasks that do not run on `default`."""
    return {
        pattern: {"queue": queue} for domain in domains for pattern, queue in domain.queues.items()
    }


def retention_rules(domains: Iterable[Domain]) -> dict[str, RetentionSpec]:
    """Every declared clean-up rule, by name."""
    return {name: rule for d in domains for name, rule in d.retention.items()}


def large_tables(domains: Iterable[Domain]) -> list[str]:
    """Every declared large table, in declaration order (the order they are vacuumed in)."""
    return [table for d in domains for table in d.large_tables]


def job_types(domains: Iterable[Domain]) -> dict[str, JobTypeSpec]:
    """Every declared job type, in declaration order."""
    return {name: spec for d in domains for name, spec in d.job_types.items()}
