"""Status polling: `GET /api/v1/jobs/{id}` under 50 concurrent pollers (wrk) against ONE API
process (uvicorn, uvloop + httptools), with and without If-None-Match.

Baselines measured in the same run, same process, same wrk settings:
- `constant`: a bare async route returning a constant (the framework's ceiling here);
- `obvious`: the straightforward status route (sync, JWT dependency loading the user through
  the ORM, SQLModel session, primary-key reads, response_model validation) -- bench-only,
  defined below, not part of the app.

Run from backend/:  uv run python -m bench.status_polling [--duration 10] [--rounds 3]
Add `--profile` to record a py-spy profile of each status route (needs root or ptrace).
It creates and seeds its own database `seo_platform_bench_status` on the local PostgreSQL.
"""

import os

BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/seo_platform_bench_status"
)
BENCH_SECRET_KEY = "bench-secret-key-that-is-long-enough-for-hs256"
# Settings are read at import: the server process and this one must agree on them.
os.environ.update(
    {
        "DATABASE_URL": BENCH_DATABASE_URL,
        "SECRET_KEY": BENCH_SECRET_KEY,
        "ENVIRONMENT": "local",
        "FRONTEND_DIST": "/nonexistent",
        # Production logging: one JSON access line per request, at INFO.
        "LOG_JSON": "true",
        "LOG_LEVEL": "INFO",
        # The obvious route's ORM pool gets as many connections as anyio has threads (40):
        # with fewer, it deadlocks under 50 clients (threads wait for connections held by
        # sessions whose clean-up waits for a free thread) until the pool times out. Our
        # route keeps its own small pool (JOB_STATUS_POOL_SIZE, default 4).
        "DATABASE_POOL_SIZE": "40",
    }
)

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import psutil  # type: ignore[import-untyped]  # noqa: E402
from fastapi import APIRouter, Header, HTTPException, Response  # noqa: E402

from app.api.deps import CurrentUser, SessionDep  # noqa: E402
from app.jobs.models import JobPublic, JobRun  # noqa: E402
from app.main import create_app  # noqa: E402
from app.projects.models import Project  # noqa: E402

# --- the bench application: the real app plus the two baseline routes ----------------------

bench_router = APIRouter(prefix="/bench")


@bench_router.get("/constant")
async def constant() -> dict[str, str]:
    return {"status": "running"}


@bench_router.get("/obvious/jobs/{job_id}", response_model=JobPublic)
def obvious_read_job(
    session: SessionDep,
    current_user: CurrentUser,
    job_id: uuid.UUID,
    response: Response,
    if_none_match: str | None = Header(default=None),
) -> Any:
    job = session.get(JobRun, job_id)
    if job is None:
        raise HTTPException(404, detail="Job not found")
    if not current_user.is_superuser:
        project = session.get(Project, job.project_id) if job.project_id else None
        if project is None or project.owner_id != current_user.id:
            raise HTTPException(404, detail="Job not found")
    etag = f'"{job.updated_at.timestamp()}"'
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return job


bench_app = create_app()
bench_app.include_router(bench_router)


# --- set-up ------------------------------------------------------------------------------

JOBS_POLLED = 200
JOBS_IN_TABLE = 20_000


@dataclass(frozen=True)
class Seeded:
    token: str
    job_ids: list[str]


def seed_database() -> Seeded:
    from sqlmodel import Session

    from app.core.db import make_engine
    from app.core.migrations import upgrade_to_head
    from app.core.security import create_access_token
    from app.jobs.models import JobStatus, declared_job_types
    from app.users.models import User

    recreate_bench_database(BENCH_DATABASE_URL)
    upgrade_to_head(BENCH_DATABASE_URL)
    engine = make_engine(BENCH_DATABASE_URL)
    with Session(engine) as session:
        users = [
            User(email=f"bench{i}@example.com", hashed_password="x", is_superuser=False)
            for i in range(20)
        ]
        session.add_all(users)
        session.flush()
        projects = [
            Project(name=f"site {i}", site_url=f"https://site{i}.example/", owner_id=u.id)
            for i, u in enumerate(users * 5)
        ]
        session.add_all(projects)
        session.flush()
        types = list(declared_job_types())
        statuses = list(JobStatus)
        now = time.time()
        rows = []
        for i in range(JOBS_IN_TABLE):
            project = projects[i % len(projects)]
            status = statuses[i % len(statuses)]
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "job_type": types[i % len(types)].value,
                    "project_id": project.id,
                    "user_id": project.owner_id,
                    "status": status.value,
                    "stage": "crawl",
                    "queue": "default",
                    "progress_pct": float(i % 100),
                    "progress_message": f"crawled {i % 1000} of 1000 pages",
                    "progress_current": i % 1000,
                    "progress_total": 1000,
                    "attempts": 1,
                    "max_attempts": 4,
                    "config_json": {"max_pages": 1000},
                    "result_json": {"pages": 1000} if status == JobStatus.completed else None,
                    "queued_at": _at(now - i),
                    "updated_at": _at(now - i + 1),
                }
            )
        session.bulk_insert_mappings(JobRun.__mapper__, rows)  # type: ignore[attr-defined]
        session.commit()
        poller = users[0]
        own = [str(r["id"]) for r in rows if r["user_id"] == poller.id][:JOBS_POLLED]
        token = create_access_token(str(poller.id), expires_delta=timedelta(hours=2))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return Seeded(token=token, job_ids=own)


def recreate_bench_database(url: str) -> None:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if not name or "bench" not in name:
        raise SystemExit(f"refusing to recreate a non-bench database: {name!r}")
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _at(epoch: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    backend = Path(__file__).resolve().parents[1]
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.status_polling:bench_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(  # the app's own access log goes to stderr, discarded here
        command, cwd=backend, env=os.environ.copy(), stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the API process did not start")


# --- wrk ---------------------------------------------------------------------------------

LUA_TEMPLATE = """
local paths = {%(paths)s}
local etags = {%(etags)s}
local token = "%(token)s"
local counter = 0
request = function()
  counter = counter + 1
  local i = (counter %% #paths) + 1
  local headers = {["Authorization"] = "Bearer " .. token}
  if #etags > 0 then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", paths[i], headers)
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p99_ms: float
    errors: int
    requests: int
    server_cpu_us_per_request: float = 0.0


def run_wrk(
    base: str, paths: list[str], etags: list[str], token: str, *, duration: int, connections: int
) -> WrkResult:
    script = LUA_TEMPLATE % {
        "paths": ", ".join(json.dumps(p) for p in paths),
        "etags": ", ".join(json.dumps(e) for e in etags),
        "token": token,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{duration}s",
                "--latency",
                "-s",
                handle.name,
                base,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=duration + 30,
        ).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99_value, p99_unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    p99_ms = float(p99_value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_unit]
    errors_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    if socket_errors:
        print(f"    wrk: {socket_errors.group(0)}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return WrkResult(rps, p99_ms, int(errors_match.group(1)) if errors_match else 0, requests)


def server_cpu_seconds(pid: int) -> float:
    """CPU time the API process used (all threads): unlike req/s, not skewed by other load."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def etags_for(base: str, paths: list[str], token: str) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers) as client:
        etags = []
        for path in paths:
            response = client.get(path)
            response.raise_for_status()
            etags.append(response.headers["etag"])
            assert client.get(path, headers={"If-None-Match": etags[-1]}).status_code == 304
    return etags


def profile(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("    (py-spy not found: no profile)")
        return None
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--gil",  # samples holding the GIL: where the process's Python CPU time goes
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# Where a request's Python time goes: the first matching frame names the share.
PROFILE_GROUPS = (
    ("decode_access_token", "JWT verification"),
    ("get_current_user (", "user loaded through the ORM"),
    ("JobStatusReader.read", "status statement (psycopg pool + execute)"),
    ("Session.get", "job and project loaded through the ORM"),
    ("serialize_response", "response_model validation + serialization"),
    ("get_session (", "session set-up and clean-up"),
    ("BoundLogger.info", "access log line (structlog)"),
    ("matches (", "route matching"),
    ("solve_dependencies", "other dependency / parameter handling"),
    ("RequestResponseCycle.send", "writing the response (uvicorn)"),
    ("data_received", "HTTP parsing"),
    ("WorkerThread", "thread-pool hand-off"),
    ("run_sync_in_worker_thread", "thread-pool hand-off"),
)


def summarize_profile(path: Path) -> None:
    """Shares of GIL-holding samples by kind of work, from py-spy's collapsed stacks."""
    if not path.exists():
        return
    shares: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        group = next(
            (name for key, name in PROFILE_GROUPS if key in stack),
            "middleware, framework and event loop",
        )
        shares[group] = shares.get(group, 0) + count
    print(f"    {path.name}: {total} GIL samples")
    for name, count in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"      {100 * count / max(total, 1):5.1f}%  {name}")


# --- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    print("seeding the bench database ...")
    seeded = seed_database()
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        ours = [f"/api/v1/jobs/{job_id}" for job_id in seeded.job_ids]
        obvious = [f"/bench/obvious/jobs/{job_id}" for job_id in seeded.job_ids]
        cases: dict[str, tuple[list[str], list[str]]] = {
            "constant (bare async route)": (["/bench/constant"], []),
            "obvious sync ORM route": (obvious, []),
            "obvious sync ORM route, If-None-Match": (
                obvious,
                etags_for(base, obvious, seeded.token),
            ),
            "GET /jobs/{id}": (ours, []),
            "GET /jobs/{id}, If-None-Match (304)": (ours, etags_for(base, ours, seeded.token)),
        }
        # Warm up every route (pools, prepared statements, code paths).
        for paths, etags in cases.values():
            run_wrk(base, paths, etags, seeded.token, duration=2, connections=args.connections)
        results: dict[str, list[WrkResult]] = {name: [] for name in cases}
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}/{args.rounds}")
            for name, (paths, etags) in cases.items():
                cpu_before = server_cpu_seconds(server.pid)
                result = run_wrk(
                    base,
                    paths,
                    etags,
                    seeded.token,
                    duration=args.duration,
                    connections=args.connections,
                )
                cpu_us = (server_cpu_seconds(server.pid) - cpu_before) / result.requests * 1e6
                result = dataclasses.replace(result, server_cpu_us_per_request=cpu_us)
                if result.errors:  # e.g. the shared server ran out of connections
                    print(f"    warning: {result.errors} error responses in this run")
                results[name].append(result)
                time.sleep(1)  # let the server drain before the next case
                rps, p99 = result.requests_per_second, result.p99_ms
                print(f"  {name:40s} {rps:9.0f} req/s  p99 {p99:7.2f} ms  {cpu_us:6.0f} us CPU/req")
        if args.profile:
            for name in ("obvious sync ORM route", "GET /jobs/{id}"):
                paths, etags = cases[name]
                label = "obvious" if name.startswith("obvious") else "ours"
                out = Path(tempfile.gettempdir()) / f"status_polling_profile_{label}.txt"
                spy = profile(server.pid, 8, out)
                run_wrk(base, paths, etags, seeded.token, duration=9, connections=args.connections)
                if spy is not None:
                    spy.wait(timeout=30)
                    summarize_profile(out)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    print(f"\nmedians of {args.rounds} rounds, {args.connections} connections, {args.duration} s")
    medians = {
        name: (
            statistics.median(r.requests_per_second for r in runs),
            statistics.median(r.p99_ms for r in runs),
            statistics.median(r.server_cpu_us_per_request for r in runs),
        )
        for name, runs in results.items()
    }
    constant_rps = medians["constant (bare async route)"][0]
    obvious_rps = medians["obvious sync ORM route"][0]
    header = (
        f"{'req/s':>9s} {'p99 ms':>8s} {'CPU us/req':>10s} {'vs constant':>12s} {'vs obvious':>11s}"
    )
    print(f"  {'case':40s} {header}")
    for name, (rps, p99, cpu_us) in medians.items():
        ratios = f"{rps / constant_rps:11.2f}x {rps / obvious_rps:10.2f}x"
        print(f"  {name:40s} {rps:9.0f} {p99:8.2f} {cpu_us:10.0f} {ratios}")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("  target for GET /jobs/{id}: >= 2000 req/s and p99 <= 50 ms, in both cases")


if __name__ == "__main__":
    main()
