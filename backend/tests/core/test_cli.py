"""The `seo-platform` command: light to import, and `up` as one supervised group that
Ctrl-C stops entirely."""

import base64
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from app.cli import build_parser, worker_argv
from app.local.embedded import plain_dsn
from app.local.supervisor import ChildDiedError, ChildSpec, ProcessGroup, RestartBackoff
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.core.processes import (
    BACKEND,
    descendants,
    free_port,
    http_get,
    process_tree_alive,
    start,
    wait_for,
    wait_for_http,
)


def test_the_command_imports_nothing_heavy() -> None:
    script = (
        "import sys, app.cli; app.cli.build_parser().parse_args(['up']);"
        "heavy = [m for m in ('app.main', 'celery', 'fastapi', 'sqlmodel', 'uvicorn')"
        " if m in sys.modules]; assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", script], cwd=BACKEND, check=True, timeout=60)


def test_openapi_prints_the_document() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "openapi"],
        cwd=BACKEND,
        capture_output=True,
        check=True,
        timeout=120,
    )
    document = json.loads(completed.stdout)
    assert "/api/v1/health/ready" in document["paths"]
    assert "/api/v1/projects" in document["paths"]


# -- the supervisor's policy, on small real processes ------------------------------------
def test_an_infrastructure_child_that_dies_stops_the_group_with_its_last_lines() -> None:
    out = io.StringIO()
    group = ProcessGroup(grace_seconds=5, out=out)
    sleeper = group.start(ChildSpec("sleeper", ["sleep", "60"], restart=True))
    crasher = ChildSpec(
        "crasher", ["sh", "-c", "echo starting; echo boom >&2; exit 3"], infrastructure=True
    )
    group.start(crasher)
    try:
        with pytest.raises(ChildDiedError) as died:
            group.wait_while_running(10)
        assert died.value.child.spec.name == "crasher"
        assert died.value.returncode == 3
        assert list(died.value.child.tail) == ["starting", "boom"]
        group.report_death(died.value)
        report = out.getvalue()
        assert "!!! crasher (pid" in report
        assert "exited with code 3; stopping everything" in report
        assert "    boom" in report
    finally:
        group.stop_all()
    assert sleeper.process.returncode == -signal.SIGTERM


def test_an_app_child_that_dies_is_restarted_with_a_growing_backoff() -> None:
    out = io.StringIO()
    backoff = RestartBackoff(initial=0.2, maximum=0.8, stable_after=60)
    group = ProcessGroup(grace_seconds=5, out=out, backoff=backoff)
    crasher = group.start(ChildSpec("worker", ["sh", "-c", "echo run $$; exit 3"], restart=True))
    restarted_at: list[float] = []
    pids = {crasher.process.pid}
    try:
        deadline = time.monotonic() + 30
        while crasher.restarts < 5 and time.monotonic() < deadline:
            group.check()  # never raises: the child is the platform's, not the database
            if crasher.process.pid not in pids:
                pids.add(crasher.process.pid)
                restarted_at.append(time.monotonic())
            time.sleep(0.01)
    finally:
        group.stop_all()
    assert crasher.restarts == 5, out.getvalue()
    gaps = [later - earlier for earlier, later in itertools.pairwise(restarted_at)]
    # 0.2, 0.4, 0.8, 0.8 s (and the few ms the child itself lives)
    for gap, expected in zip(gaps, [0.4, 0.8, 0.8, 0.8], strict=True):
        assert expected <= gap < expected + 0.5, gaps
    report = out.getvalue()
    assert "!!! worker (pid" in report
    assert "exited with code 3; restarting it in 0.2s" in report
    assert "restarting it in 0.8s" in report
    assert "--- worker started again" in report


def test_the_backoff_starts_over_after_a_stable_run() -> None:
    out = io.StringIO()
    backoff = RestartBackoff(initial=0.1, maximum=10, stable_after=0.5)
    group = ProcessGroup(grace_seconds=5, out=out, backoff=backoff)
    child = group.start(ChildSpec("flower", ["sh", "-c", "sleep 0.7; exit 1"], restart=True))
    try:
        deadline = time.monotonic() + 20
        while child.restarts < 3 and time.monotonic() < deadline:
            group.check()
            time.sleep(0.01)
    finally:
        group.stop_all()
    assert child.restarts == 3
    # Every run lasted longer than stable_after: never more than the initial delay.
    assert out.getvalue().count("restarting it in 0.1s") == 3, out.getvalue()


def test_workers_run_without_gossip_and_mingle() -> None:
    args = build_parser().parse_args(["worker", "-Q", "default,low", "-c", "2"])
    argv = worker_argv(args, log_level="INFO")
    assert "--without-gossip" in argv
    assert "--without-mingle" in argv
    assert "--without-heartbeat" not in argv  # Flower tells workers online by heartbeats


def test_stop_kills_what_ignores_term_and_its_grandchildren() -> None:
    group = ProcessGroup(grace_seconds=1, out=open(os.devnull, "w"))  # noqa: SIM115
    stubborn = group.start(
        ChildSpec("stubborn", ["sh", "-c", "trap '' TERM; sleep 60 & sleep 60 & wait"])
    )
    wait_for(lambda: len(descendants(stubborn.process.pid)) == 2, timeout=10, what="forks")
    grandchildren = descendants(stubborn.process.pid)
    started = time.monotonic()
    group.stop_all()
    assert time.monotonic() - started < 10
    assert stubborn.process.returncode == -signal.SIGKILL
    wait_for(lambda: not process_tree_alive(grandchildren), timeout=5, what="grandchildren gone")


# -- `seo-platform up`, for real ------------------------------------------------------------
# Named after the run's test database, so parallel runs with their own databases never share it.
SCRATCH_DATABASE = f"{make_url(TEST_DATABASE_URL).database}_up"


def _drop_scratch_database() -> None:
    with psycopg.connect(plain_dsn(TEST_DATABASE_URL, "postgres"), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (SCRATCH_DATABASE,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(SCRATCH_DATABASE)))


def _post(url: str, *, data: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, json.loads(response.read())


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


@pytest.mark.slow
def test_up_runs_the_platform_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    _drop_scratch_database()  # `up` creates the database it is given when it is missing
    api_port, flower_port = free_port(), free_port()
    database_url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{SCRATCH_DATABASE}"
    env = {
        "ENVIRONMENT": "local",
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "CELERY_BROKER_URL": TEST_REDIS_URL,
        "CELERY_RESULT_BACKEND": TEST_REDIS_URL,
    }
    removed = ("FIRST_SUPERUSER_PASSWORD", "SECRET_KEY", "FLOWER_BASIC_AUTH_PASSWORD")
    for name in removed:  # placeholders: `up` generates them into .data/credentials
        env[name] = ""
    command = [sys.executable, "-m", "app.cli", "up", "--no-build", "--workers", "1"]
    command += ["--host", "127.0.0.1", "--port", str(api_port), "--flower-port", str(flower_port)]
    up = start(command, log_path=tmp_path / "up.log", env=env, cwd=tmp_path)
    tree: list[int] = []
    try:
        wait_for(
            lambda: "ready: database, redis and workers ok" in up.output(),
            timeout=300,
            what="seo-platform up ready",
            child=up,
        )
        base = f"http://127.0.0.1:{api_port}/api/v1"
        status, raw, _ = http_get(f"{base}/health/ready")
        assert status == 200, raw

        credentials_file = tmp_path / ".data" / "credentials"
        assert credentials_file.stat().st_mode & 0o777 == 0o600
        credentials = dict(
            line.split("=", 1) for line in credentials_file.read_text().splitlines() if "=" in line
        )
        password = credentials["FIRST_SUPERUSER_PASSWORD"]
        assert password not in up.output()  # printed: where it is, never what it is

        form = urllib.parse.urlencode({"username": "admin@example.com", "password": password})
        content = {"Content-Type": "application/x-www-form-urlencoded"}
        status, token = _post(f"{base}/login/access-token", data=form.encode(), headers=content)
        assert status == 200
        assert token["access_token"]

        # The "done when" walk: signup -> login -> create a project, through the API.
        signup = json.dumps({"email": "owner@example.com", "password": "a-long-password"})
        as_json = {"Content-Type": "application/json"}
        assert _post(f"{base}/users/signup", data=signup.encode(), headers=as_json)[0] == 201
        form = urllib.parse.urlencode(
            {"username": "owner@example.com", "password": "a-long-password"}
        )
        _, owner_token = _post(f"{base}/login/access-token", data=form.encode(), headers=content)
        bearer = {**as_json, "Authorization": f"Bearer {owner_token['access_token']}"}
        project = json.dumps({"name": "Example", "site_url": "https://example.com"})
        status, created = _post(f"{base}/projects", data=project.encode(), headers=bearer)
        assert status == 201
        assert created["site_url"].startswith("https://example.com")

        flower = f"http://127.0.0.1:{flower_port}/"
        assert http_get(flower)[0] == 401
        basic = base64.b64encode(
            f"{credentials['FLOWER_BASIC_AUTH_USER']}:{credentials['FLOWER_BASIC_AUTH_PASSWORD']}".encode()
        ).decode()
        assert http_get(flower, headers={"Authorization": f"Basic {basic}"})[0] == 200

        tree = descendants(up.process.pid)
        commands = [_command_line(pid) for pid in tree]
        roles = ("app.cli api", "-Q default,low", "-Q render", "app.cli beat", "app.cli flower")
        for role in roles:
            assert sum(role in line for line in commands) >= 1, (role, commands)
        assert sum("app.cli beat" in line for line in commands) == 1  # exactly one Beat

        # A worker killed outright is started again; the rest of the group goes on.
        worker_pid = next(pid for pid in tree if "-Q default,low" in _command_line(pid))
        os.killpg(os.getpgid(worker_pid), signal.SIGKILL)
        wait_for(
            lambda: "--- worker started again" in up.output(),
            timeout=60,
            what="the worker restarted",
            child=up,
        )
        assert "was killed by SIGKILL; restarting it in 1s" in up.output()
        wait_for_http(f"{base}/health/ready", status=200, timeout=120, child=up)
        tree = descendants(up.process.pid)
    finally:
        if up.process.poll() is None:
            os.kill(up.process.pid, signal.SIGINT)  # what Ctrl-C delivers to `up`
        returncode = up.process.wait(timeout=90)
    assert returncode == 0, up.output()[-3000:]
    assert "all processes stopped" in up.output()
    assert process_tree_alive(tree) == [], subprocess.run(
        ["ps", "-o", "pid,ppid,pgid,stat,cmd", "-p", ",".join(map(str, tree))],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
