"""`seo-platform up`: the whole platform on one machine, as one supervised group.

Order: database and broker (found or started), database created if missing, local
credentials, migrations and the first superuser, the dashboard build, then API, workers,
Beat and Flower. Output goes to stdout, prefixed with each child's name.
"""

import os
import secrets
import shutil
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from app.core.config import DEFAULT_SECRET, Settings, get_settings
from app.local.embedded import (
    LOCAL_POSTGRES_URL,
    LOCAL_REDIS_URL,
    EmbeddedPostgres,
    EmbeddedRedis,
    ensure_database,
    free_port,
    postgres_answers,
    redis_answers,
    wait_for_postgres,
    wait_for_redis,
)
from app.local.supervisor import ChildDiedError, ChildSpec, ProcessGroup

CREDENTIALS_FILE = "credentials"
# Generated for local runs when the setting still holds the placeholder.
GENERATED_SECRETS = ("SECRET_KEY", "FIRST_SUPERUSER_PASSWORD", "FLOWER_BASIC_AUTH_PASSWORD")
DASHBOARD_SOURCES_SKIP = {"node_modules", "dist", "test-results", "playwright-report", ".vite"}
DEBIAN_CHROMIUM = "/usr/bin/chromium"
DEFAULT_WORKER_QUEUES = "default,low"


class StopRequestedError(Exception):
    pass


@dataclass(frozen=True)
class Backing:
    """Where the database or broker came from, for the banner."""

    url: str
    origin: str  # "configured", "local" or "embedded"


def run_up(
    *,
    root: Path,
    host: str,
    port: int,
    flower_port: int | None,
    build_dashboard: bool,
    force_embedded: bool,
    worker_concurrency: int,
    grace_seconds: float,
    ready_timeout: float,
) -> int:
    settings = get_settings()
    data_dir = root / ".data"
    data_dir.mkdir(exist_ok=True)
    group = ProcessGroup(grace_seconds=grace_seconds)
    group.install_signal_handlers()
    started = time.monotonic()
    try:
        database = _find_or_start_postgres(group, settings, data_dir, force_embedded)
        broker = _find_or_start_redis(group, settings, data_dir, force_embedded)
        _ensure_database(group, database.url)
        env = _child_env(settings, database=database, broker=broker)
        credentials = _local_credentials(settings, data_dir)
        env.update(credentials)
        migrate = [sys.executable, "-m", "app.cli", "migrate"]
        if "FIRST_SUPERUSER_PASSWORD" in credentials:
            migrate.append("--reset-first-superuser-password")
        _run_step(group, ChildSpec("migrate", migrate, env=env, cwd=str(root)))
        dist = root / "frontend" / "dist"
        if build_dashboard:
            try:
                _build_dashboard(group, root / "frontend")
            except StepFailedError as failed:
                # The API and the workers are still worth running; the banner says no dashboard.
                group.say(f"!!! the dashboard build failed, going on without it: {failed}")
        env["FRONTEND_DIST"] = str(dist)
        if "BROWSER_EXECUTABLE_PATH" not in env and Path(DEBIAN_CHROMIUM).exists():
            env["BROWSER_EXECUTABLE_PATH"] = DEBIAN_CHROMIUM
        flower_port = flower_port or settings.FLOWER_PORT
        for spec in _platform_children(
            root=root,
            env=env,
            host=host,
            port=port,
            flower_port=flower_port,
            worker_concurrency=worker_concurrency,
        ):
            group.start(spec)
        api_url = f"http://{_display_host(host)}:{port}"
        api_up = lambda: _http_status(f"{api_url}/api/v1/health") == 200  # noqa: E731
        _wait_for(group, api_up, ready_timeout, "the API")
        group.say(
            _banner(
                settings=settings,
                api_url=api_url,
                flower_url=f"http://{_display_host(host)}:{flower_port}",
                dashboard_built=(dist / "index.html").is_file(),
                credentials_file=data_dir / CREDENTIALS_FILE if credentials else None,
                database=database,
                broker=broker,
            )
        )
        ready_url = f"{api_url}/api/v1/health/ready"
        if _wait_for(group, lambda: _http_status(ready_url) == 200, ready_timeout, None):
            group.say(
                f"ready: database, redis and workers ok "
                f"({time.monotonic() - started:.1f}s after start). Ctrl-C stops everything."
            )
        else:
            group.say(f"!!! {ready_url} is not ok after {ready_timeout:.0f}s; see the logs above")
        while not group.stop_requested.is_set():
            group.wait_while_running(3600)
        return 0
    except StopRequestedError:
        return 0
    except ChildDiedError as died:
        group.report_death(died)
        return 1
    except StepFailedError as failed:
        group.say(f"!!! {failed}")
        return 1
    finally:
        group.stop_all()
        group.say("all processes stopped")


class StepFailedError(Exception):
    pass


# -- database and broker --------------------------------------------------------------------
def _find_or_start_postgres(
    group: ProcessGroup, settings: Settings, data_dir: Path, force_embedded: bool
) -> Backing:
    if not force_embedded:
        if "DATABASE_URL" in settings.model_fields_set:
            return Backing(settings.DATABASE_URL, "configured")
        if postgres_answers(LOCAL_POSTGRES_URL):
            return Backing(LOCAL_POSTGRES_URL, "local")
        group.say("no PostgreSQL answers on 127.0.0.1:5432: starting a private one in .data/")
    postgres = EmbeddedPostgres(data_dir, free_port())
    postgres.initialize()
    group.start(
        ChildSpec(
            "postgres",
            postgres.foreground_command(),
            user=postgres.run_as,
            stop_signal=signal.SIGINT,  # fast shutdown: ends open sessions, then stops
            infrastructure=True,
        )
    )
    _wait_for(group, lambda: postgres_answers(postgres.url(), timeout=1), 60, "PostgreSQL")
    return Backing(postgres.url(), "embedded")


def _find_or_start_redis(
    group: ProcessGroup, settings: Settings, data_dir: Path, force_embedded: bool
) -> Backing:
    if not force_embedded:
        if "REDIS_URL" in settings.model_fields_set:
            return Backing(settings.REDIS_URL, "configured")
        if redis_answers(LOCAL_REDIS_URL):
            return Backing(LOCAL_REDIS_URL, "local")
        group.say("no Redis answers on 127.0.0.1:6379: starting a private one in .data/")
    redis_server = EmbeddedRedis(data_dir, free_port())
    group.start(ChildSpec("redis", redis_server.foreground_command(), infrastructure=True))
    _wait_for(group, lambda: redis_answers(redis_server.url(), timeout=0.5), 30, "Redis")
    return Backing(redis_server.url(), "embedded")


def _ensure_database(group: ProcessGroup, url: str) -> None:
    try:
        if ensure_database(url):
            group.say(f"created database {_without_password(url)}")
    except psycopg.Error as error:
        # A managed server may refuse the maintenance database; migrate will tell if the
        # database itself is missing.
        group.say(f"could not check that the database exists ({type(error).__name__}): going on")


def _child_env(settings: Settings, *, database: Backing, broker: Backing) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["DATABASE_URL"] = database.url
    env["REDIS_URL"] = broker.url
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        if broker.origin != "configured" or name not in settings.model_fields_set:
            env[name] = broker.url
    return env


# -- credentials ----------------------------------------------------------------------------
def _local_credentials(settings: Settings, data_dir: Path) -> dict[str, str]:
    """Secrets still at the placeholder get random values, generated once and kept in
    .data/credentials (mode 0600). Production never gets here with a placeholder."""
    if settings.ENVIRONMENT == "production":
        return {}
    path = data_dir / CREDENTIALS_FILE
    stored = _read_env_file(path)
    generated: dict[str, str] = {}
    for name in GENERATED_SECRETS:
        if getattr(settings, name) == DEFAULT_SECRET:
            generated[name] = stored.get(name) or secrets.token_urlsafe(32)
    if not generated:
        return {}
    lines = [
        "# Written by `seo-platform up` for this checkout. Delete it to get new secrets.",
        f"FIRST_SUPERUSER={settings.FIRST_SUPERUSER}",
        f"FLOWER_BASIC_AUTH_USER={settings.FLOWER_BASIC_AUTH_USER}",
        *(f"{name}={value}" for name, value in generated.items()),
    ]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return generated


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


# -- the dashboard --------------------------------------------------------------------------
def _build_dashboard(group: ProcessGroup, frontend: Path) -> None:
    if not (frontend / "package.json").is_file():
        return
    dist_index = frontend / "dist" / "index.html"
    if dist_index.is_file() and dist_index.stat().st_mtime >= _newest_source_mtime(frontend):
        group.say("dashboard: frontend/dist is up to date")
        return
    npm = shutil.which("npm")
    if npm is None:
        group.say("dashboard: npm not found, not building it (the API runs without it)")
        return
    lock = frontend / "package-lock.json"
    modules = frontend / "node_modules"
    if not modules.is_dir() or (lock.is_file() and lock.stat().st_mtime > modules.stat().st_mtime):
        install = [npm, "ci"] if lock.is_file() else [npm, "install"]
        _run_step(group, ChildSpec("npm", [*install, "--no-audit", "--no-fund"], cwd=str(frontend)))
    _run_step(group, ChildSpec("npm", [npm, "run", "build"], cwd=str(frontend)))


def _newest_source_mtime(frontend: Path) -> float:
    newest = 0.0
    for directory, subdirectories, files in os.walk(frontend):
        subdirectories[:] = [name for name in subdirectories if name not in DASHBOARD_SOURCES_SKIP]
        for name in files:
            newest = max(newest, (Path(directory) / name).stat().st_mtime)
    return newest


# -- the platform's processes ---------------------------------------------------------------
def _platform_children(
    *,
    root: Path,
    env: dict[str, str],
    host: str,
    port: int,
    flower_port: int,
    worker_concurrency: int,
) -> list[ChildSpec]:
    cli = [sys.executable, "-m", "app.cli"]
    schedule = root / ".data" / "celerybeat-schedule"
    here = str(root)
    specs = [
        ChildSpec("api", [*cli, "api", "--host", host, "--port", str(port)], env=env, cwd=here),
        ChildSpec(
            "worker",
            [
                *cli,
                "worker",
                "-Q",
                DEFAULT_WORKER_QUEUES,
                "-n",
                "default@%h",
                "-c",
                f"{worker_concurrency}",
            ],
            env=env,
            cwd=here,
        ),
        ChildSpec(
            "render",
            [*cli, "worker", "-Q", "render", "-c", "1", "-n", "render@%h"],
            env=env,
            cwd=here,
        ),
        ChildSpec("beat", [*cli, "beat", "--schedule", str(schedule)], env=env, cwd=here),
        ChildSpec(
            "flower",
            [*cli, "flower", "--address", host, "--port", str(flower_port)],
            env=env,
            cwd=here,
        ),
    ]
    for spec in specs:
        spec.restart = True  # stateless: started again with back-off when one dies
    return specs


def _run_step(group: ProcessGroup, spec: ChildSpec) -> None:
    """Run a one-shot child to completion under supervision (Ctrl-C still stops it)."""
    child = group.start(spec)
    while child.process.poll() is None:
        if group.stop_requested.is_set():
            raise StopRequestedError  # the child stays in the group, which stops it
        time.sleep(0.1)
    if child.reader is not None:
        child.reader.join(timeout=2)
    group.children.remove(child)
    if child.process.returncode != 0:
        tail = "\n".join(f"    {line}" for line in child.tail)
        raise StepFailedError(f"{spec.name} failed with code {child.process.returncode}:\n{tail}")


def _wait_for(
    group: ProcessGroup, check: Callable[[], bool], timeout: float, what: str | None
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if group.stop_requested.is_set():
            raise StopRequestedError
        group.check()
        if check():
            return True
        time.sleep(0.3)
    if what is not None:
        raise StepFailedError(f"{what} did not answer within {timeout:.0f}s")
    return False


def _http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _display_host(host: str) -> str:
    return "localhost" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _banner(
    *,
    settings: Settings,
    api_url: str,
    flower_url: str,
    dashboard_built: bool,
    credentials_file: Path | None,
    database: Backing,
    broker: Backing,
) -> str:
    where = f"password in {credentials_file}" if credentials_file else "password as configured"
    dashboard = f"{api_url}/" if dashboard_built else "(not built: `npm run build` in frontend/)"
    return "\n".join(
        [
            "",
            f"{settings.PROJECT_NAME} is up",
            f"  dashboard        {dashboard}",
            f"  API              {api_url}/api/v1",
            f"  API docs         {api_url}/api/v1/docs",
            f"  Flower           {flower_url}/  (user {settings.FLOWER_BASIC_AUTH_USER}, {where})",
            f"  first superuser  {settings.FIRST_SUPERUSER}  ({where})",
            f"  database         {_without_password(database.url)}  ({database.origin})",
            f"  redis            {_without_password(broker.url)}  ({broker.origin})",
            "  processes        api, worker (default,low), render (render), beat, flower",
            "",
        ]
    )


# -- PostgreSQL and Redis for the test command ----------------------------------------------
def start_test_services(data_dir: Path) -> dict[str, str]:
    """Environment for the tests: the local servers when they answer, else private daemons."""
    values: dict[str, str] = {}
    data_dir.mkdir(parents=True, exist_ok=True)
    if not postgres_answers(LOCAL_POSTGRES_URL):
        postgres = EmbeddedPostgres(data_dir, free_port())
        postgres.start_daemon()
        if not wait_for_postgres(postgres.url(), timeout=30):
            raise RuntimeError("the private PostgreSQL did not start")
        values["TEST_DATABASE_URL"] = postgres.url("seo_platform_test")
        values["SEO_PLATFORM_TEST_POSTGRES_PORT"] = str(postgres.port)
    if not redis_answers(LOCAL_REDIS_URL):
        redis_server = EmbeddedRedis(data_dir, free_port())
        redis_server.start_daemon()
        if not wait_for_redis(redis_server.url(), timeout=30):
            raise RuntimeError("the private Redis did not start")
        values["TEST_REDIS_URL"] = redis_server.url(15)
    return values


def stop_test_services(data_dir: Path) -> None:
    EmbeddedPostgres(data_dir, 0).stop_daemon()
    EmbeddedRedis(data_dir, 0).stop_daemon()
