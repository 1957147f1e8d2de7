"""The `seo-platform` command.

    seo-platform up                 everything, zero-config, as one supervised group
    seo-platform api | worker | beat | flower     the pieces (docker-compose runs these)
    seo-platform migrate            alembic upgrade head + the first superuser
    seo-platform create-superuser   the first superuser only
    seo-platform openapi            the OpenAPI document, for the dashboard's generated client
    seo-platform services start|stop   PostgreSQL + Redis for the test command

Imports stay inside the commands: `seo-platform --help` must not build the app.
"""

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_QUEUES = "default,low"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seo-platform", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run the whole platform (zero-config)")
    up.add_argument("--host", default="127.0.0.1", help="API and Flower bind address")
    up.add_argument("--port", type=int, default=8000, help="API and dashboard port")
    up.add_argument("--flower-port", type=int, default=None, help="default: FLOWER_PORT")
    up.add_argument("--no-build", action="store_true", help="do not build the dashboard")
    up.add_argument(
        "--embedded",
        action="store_true",
        help="always run private PostgreSQL and Redis under ./.data (ignore the others)",
    )
    up.add_argument(
        "--workers", type=int, default=2, metavar="N", help="concurrency of the default,low worker"
    )
    up.add_argument(
        "--grace", type=float, default=20.0, help="seconds a child may take to stop before KILL"
    )
    up.add_argument(
        "--ready-timeout", type=float, default=180.0, help="seconds to wait for the API, then ready"
    )

    api = commands.add_parser("api", help="the HTTP API (uvicorn)")
    api.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container's server
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    api.add_argument(
        "--forwarded-allow-ips", default="127.0.0.1", help="proxies trusted for X-Forwarded-*"
    )

    worker = commands.add_parser("worker", help="a Celery worker")
    worker.add_argument("-Q", "--queues", default=DEFAULT_QUEUES, help="comma-separated queues")
    worker.add_argument("-c", "--concurrency", type=int, default=None)
    worker.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    worker.add_argument("-n", "--hostname", default=None, help="node name, e.g. render@%%h")
    worker.add_argument(
        "--max-tasks-per-child", type=int, default=None, help="recycle a pool process after N"
    )
    worker.add_argument("--include", default="", help="extra task modules to load, comma-separated")

    beat = commands.add_parser("beat", help="Celery Beat (run exactly one)")
    beat.add_argument("--schedule", default=None, help="schedule state file")

    flower = commands.add_parser("flower", help="Flower, with basic auth from settings")
    flower.add_argument("--address", default="0.0.0.0")  # noqa: S104 - a container's server
    flower.add_argument("--port", type=int, default=None, help="default: FLOWER_PORT")

    migrate = commands.add_parser("migrate", help="alembic upgrade head + the first superuser")
    migrate.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the database to answer"
    )
    migrate.add_argument(
        "--reset-first-superuser-password",
        action="store_true",
        help="set the first superuser's password to FIRST_SUPERUSER_PASSWORD (used by `up`)",
    )

    superuser = commands.add_parser(
        "create-superuser", help="create FIRST_SUPERUSER with FIRST_SUPERUSER_PASSWORD"
    )
    superuser.add_argument("--email", default=None, help="default: FIRST_SUPERUSER")

    commands.add_parser("openapi", help="print the OpenAPI document (JSON)")

    commands.add_parser(
        "rotate-credentials",
        help="re-encrypt stored provider credentials with CREDENTIALS_ENCRYPTION_KEYS' first key",
    )

    services = commands.add_parser(
        "services", help="make PostgreSQL and Redis answer for the tests (private ones if needed)"
    )
    services.add_argument("action", choices=["start", "stop"])
    services.add_argument("--data-dir", default=".data/test-services")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "up": _up,
        "api": _api,
        "worker": _worker,
        "beat": _beat,
        "flower": _flower,
        "migrate": _migrate,
        "create-superuser": _create_superuser,
        "openapi": _openapi,
        "rotate-credentials": _rotate_credentials,
        "services": _services,
    }
    return handlers[args.command](args)


# -- the pieces -------------------------------------------------------------------------------
def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.logging import configure_logging

    configure_logging()
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        # uvicorn's own loggers go through structlog (configure_logging), not uvicorn's config.
        log_config=None,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from app.core.celery_app import celery_app
    from app.core.config import settings
    from app.core.logging import configure_logging

    # Before Celery's own start-up checks, so even their warnings are formatted lines.
    configure_logging()
    extra_modules = [module.strip() for module in args.include.split(",") if module.strip()]
    if extra_modules:
        celery_app.conf.include = [*celery_app.conf.include, *extra_modules]
    celery_app.worker_main([*_quiet_when_json(), *worker_argv(args, log_level=settings.LOG_LEVEL)])
    return 0


def worker_argv(args: argparse.Namespace, *, log_level: str) -> list[str]:
    """Celery's worker arguments. Without gossip and mingle: the platform uses neither (the
    job row, not worker-to-worker sync, decides what runs; a revoked message finds nothing
    to claim), and both restart with the consumer when the broker connection is lost, where
    they can kill the worker outright (kombu#582). Heartbeats stay: Flower shows workers
    online from them."""
    argv = ["worker", "--queues", args.queues, "--pool", args.pool, "--loglevel", log_level]
    argv += ["--without-gossip", "--without-mingle"]
    if args.concurrency is not None:
        argv += ["--concurrency", str(args.concurrency)]
    if args.hostname:
        argv += ["--hostname", args.hostname]
    if args.max_tasks_per_child is not None:
        argv += ["--max-tasks-per-child", str(args.max_tasks_per_child)]
    return argv


def _quiet_when_json() -> list[str]:
    """No start-up banner when logs are JSON lines: every line must parse."""
    from app.core.config import settings

    return ["--quiet"] if settings.log_json else []


def _beat(args: argparse.Namespace) -> int:
    from app.core.celery_app import celery_app
    from app.core.config import settings

    argv = [*_quiet_when_json(), "beat", "--loglevel", settings.LOG_LEVEL]
    if args.schedule:
        argv += ["--schedule", args.schedule]
    return int(celery_app.start(argv) or 0)


def _flower(args: argparse.Namespace) -> int:
    from app.core.celery_app import celery_app
    from app.core.config import settings
    from app.core.logging import configure_logging

    configure_logging()
    # Through the environment, so the password never shows in `ps`.
    os.environ["FLOWER_BASIC_AUTH"] = (
        f"{settings.FLOWER_BASIC_AUTH_USER}:{settings.FLOWER_BASIC_AUTH_PASSWORD}"
    )
    port = args.port or settings.FLOWER_PORT
    os.environ.pop("FLOWER_PORT", None)  # the flag below is the one truth
    # --logging=none: tornado leaves logging to structlog, like the other processes.
    argv = ["flower", f"--address={args.address}", f"--port={port}", "--logging=none"]
    return int(celery_app.start(argv) or 0)


def _rotate_credentials(args: argparse.Namespace) -> int:
    from app.connections import service as connections_service
    from app.core.db import session_scope

    with session_scope() as session:
        count = connections_service.rotate_secrets(session=session)
    print(f"re-encrypted {count} stored credentials with the first key")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app.core.config import settings
    from app.core.migrations import upgrade_to_head
    from app.local.embedded import wait_for_postgres

    if not wait_for_postgres(settings.DATABASE_URL, timeout=args.wait):
        print(f"the database did not answer within {args.wait:.0f}s", file=sys.stderr)
        return 1
    upgrade_to_head()
    print("database migrated to head")
    return _ensure_first_superuser(
        email=settings.FIRST_SUPERUSER, reset_password=args.reset_first_superuser_password
    )


def _create_superuser(args: argparse.Namespace) -> int:
    from app.core.config import settings

    return _ensure_first_superuser(email=args.email or settings.FIRST_SUPERUSER)


def _ensure_first_superuser(*, email: str, reset_password: bool = False) -> int:
    from app.core.config import settings
    from app.core.db import session_scope
    from app.core.security import verify_password
    from app.users import service as users_service

    password = settings.FIRST_SUPERUSER_PASSWORD
    with session_scope() as session:
        existing = users_service.get_user_by_email(session=session, email=email)
        if existing is None:
            users_service.ensure_first_superuser(session=session, email=email, password=password)
            print(f"first superuser {email} created")
        elif reset_password and not verify_password(password, existing.hashed_password):
            # A new password signs out every older token; `up` calls this on every start,
            # so an unchanged password changes nothing.
            users_service.set_password(session=session, user=existing, password=password)
            print(f"first superuser {email} exists; password set from the credentials")
        elif reset_password:
            print(f"first superuser {email} exists; password already set from the credentials")
        else:
            print(f"first superuser {email} exists; left unchanged")
    return 0


def _openapi(_: argparse.Namespace) -> int:
    import json

    from app.main import app

    print(json.dumps(app.openapi(), indent=2, sort_keys=False))
    return 0


def _services(args: argparse.Namespace) -> int:
    from app.local import local_platform

    data_dir = Path(args.data_dir).resolve()
    if args.action == "stop":
        local_platform.stop_test_services(data_dir)
        return 0
    for name, value in local_platform.start_test_services(data_dir).items():
        print(f"{name}={value}")
    return 0


def _up(args: argparse.Namespace) -> int:
    from app.local import local_platform

    return local_platform.run_up(
        root=Path.cwd(),
        host=args.host,
        port=args.port,
        flower_port=args.flower_port,
        build_dashboard=not args.no_build,
        force_embedded=args.embedded,
        worker_concurrency=args.workers,
        grace_seconds=args.grace,
        ready_timeout=args.ready_timeout,
    )


if __name__ == "__main__":
    sys.exit(main())
