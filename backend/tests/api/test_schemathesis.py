"""Property-based fuzzing of every operation in the app's OpenAPI document, over real HTTP
against a real API process, authenticated as an ordinary user who owns a project, jobs and
an audit with pages. Whatever the input (unknown ids, malformed UUIDs, negative or huge
limits, wrong types), the answer must never be a server error, nor fail to come.

Valid inputs name the user's own rows, so every documented value of every filter (each
pattern, each enum) reaches the code that reads it, not a 404 in front of it."""

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlmodel import Session

from app.audits import storage
from app.audits.models import AuditRun, AuditStatus
from app.jobs.models import JobStatus
from app.links.models import LinkImport
from app.serp.models import SerpKeyword
from tests.audits.pages import SITE, good_page
from tests.builders import auth_headers, create_project, create_user
from tests.jobs.rows import insert_job

BACKEND_DIR = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    # A file, not a pipe: a pipe nobody reads fills up and blocks the server's next log line.
    log = (tmp_path_factory.mktemp("schemathesis-api") / "api.log").open("w+b")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=BACKEND_DIR,
        env={**os.environ, "PYTHONPATH": str(BACKEND_DIR)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # the API imports in 8-15 s on a loaded 2-core machine
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            log.seek(0)
            raise RuntimeError(f"API did not start: {log.read().decode()[-3000:]}")
        time.sleep(0.2)
    yield base
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture
def owned(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """A user owning a project with jobs in several states and a finished audit with pages:
    the user's headers, and the ids valid path parameters take."""
    user = create_user(session)
    project = create_project(session, owner=user, site_url=SITE)
    jobs = [
        insert_job(session, project=project, status=status)
        for status in (JobStatus.queued, JobStatus.running, JobStatus.completed, JobStatus.failed)
    ]
    audit = AuditRun(
        project_id=project.id,
        job_id=jobs[2].id,
        status=AuditStatus.completed,
        config_json={"start_url": f"{SITE}/"},
    )
    keyword = SerpKeyword(
        project_id=project.id, text="shoes", country="US", language="en", device="desktop"
    )
    session.add_all([audit, keyword])
    session.commit()
    storage.store_pages(
        session=session,
        audit_id=audit.id,
        pages=[good_page(f"{SITE}/"), good_page(f"{SITE}/gone", status_code=404)],
    )
    session.commit()
    link_import = LinkImport(
        project_id=project.id,
        job_id=jobs[2].id,
        file_name="ahrefs.csv",
        format="ahrefs",
        encoding="utf-16-le",
        delimiter="\t",
        bytes=1000,
        rows=2,
        accepted=1,
        rejected=1,
        rejections=[{"line": 3, "reason": "the source URL is not an http(s) URL"}],
    )
    session.add(link_import)
    session.commit()
    ids = {
        "project_id": str(project.id),
        "job_id": str(jobs[2].id),
        "audit_id": str(audit.id),
        "import_id": str(link_import.id),
        "kind": "gsc_top_linking_sites",
        "keyword_id": str(keyword.id),
    }
    return auth_headers(user), ids


EXAMPLES_PER_MODE = 12
# The readiness probe says 503 when a part of the platform is down (no worker here): by design.
DOCUMENTED_SERVER_ERRORS = {("GET", "/api/v1/health/ready"): {503}}


def test_no_operation_answers_a_server_error(
    api_base_url: str, owned: tuple[dict[str, str], dict[str, str]]
) -> None:
    user_headers, own_ids = owned
    schema = schemathesis.openapi.from_url(f"{api_base_url}/api/v1/openapi.json")
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0

    def call(case: schemathesis.Case, *, positive: bool) -> None:
        if positive and case.path_parameters and case.method != "DELETE":
            # Valid ids are the user's own rows (random ones would stop at a 404).
            for name in case.path_parameters.keys() & own_ids.keys():
                case.path_parameters[name] = own_ids[name]
        try:
            response = case.call(base_url=api_base_url, headers=user_headers, timeout=5)
        except httpx.TimeoutException as timeout:
            message = f"no answer within 5 s: {case.method} {case.path}"
            raise AssertionError(message) from timeout
        statuses[response.status_code // 100] += 1
        allowed = DOCUMENTED_SERVER_ERRORS.get((case.method, case.path), set())
        assert response.status_code < 500 or response.status_code in allowed, (
            f"{response.status_code} for {case.method} {response.request.url}: "
            f"{response.text[:500]}"
        )

    def calling(*, positive: bool) -> Callable[[schemathesis.Case], None]:
        def exercise(case: schemathesis.Case) -> None:
            call(case, positive=positive)

        return exercise

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise = given(case=operation.as_strategy(generation_mode=mode))(
                settings(
                    max_examples=EXAMPLES_PER_MODE,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    derandomize=True,
                    database=None,
                )(calling(positive=mode is GenerationMode.POSITIVE))
            )
            try:
                exercise()
            except Unsatisfiable:
                # Nothing to make invalid: an operation without parameters or body.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (AssertionError, BaseExceptionGroup) as exc:  # report every operation's
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:2000])
    assert operations >= 15, "the OpenAPI document lost operations"
    # The fuzzer got past authentication and validation, and was refused too.
    assert statuses[2] > 50, statuses
    assert statuses[4] > 50, statuses
    assert not failures, "\n\n".join(failures)


def _finite_language(pattern: str, limit: int = 2000) -> list[str] | None:
    """Every string `pattern` matches, when they are few (a status filter's 507 values); None
    when the language is infinite or larger than `limit`."""
    import re._parser as sre_parse  # the stdlib's own regex parser

    def strings(items: sre_parse.SubPattern | list[Any]) -> list[str]:
        found = [""]
        for op, arg in items:
            if op in (sre_parse.AT, sre_parse.AT_BEGINNING, sre_parse.AT_END):
                continue
            if op is sre_parse.LITERAL:
                options = [chr(arg)]
            elif op is sre_parse.IN:
                options = []
                for kind, value in arg:
                    if kind is sre_parse.LITERAL:
                        options.append(chr(value))
                    elif kind is sre_parse.RANGE:
                        options.extend(chr(c) for c in range(value[0], value[1] + 1))
                    else:
                        raise ValueError(kind)
            elif op is sre_parse.SUBPATTERN:
                options = strings(arg[3])
            elif op is sre_parse.BRANCH:
                options = [s for branch in arg[1] for s in strings(branch)]
            elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
                low, high, body = arg
                if high is sre_parse.MAXREPEAT:
                    raise ValueError("unbounded")
                unit = strings(body)
                options = []
                for count in range(low, high + 1):
                    combos = [""]
                    for _ in range(count):
                        combos = [a + b for a in combos for b in unit]
                        if len(combos) > limit:
                            raise ValueError("too many")
                    options.extend(combos)
            else:
                raise ValueError(op)
            found = [a + b for a in found for b in options]
            if len(found) > limit:
                raise ValueError("too many")
        return found

    try:
        return sorted(set(strings(sre_parse.parse(pattern))))
    except ValueError:
        return None


def _documented_values(schema: dict[str, Any]) -> list[Any]:
    """The values a query parameter's schema documents: its enum, or every string of a small
    pattern, or (a larger one) examples drawn from the pattern."""
    for option in [schema, *schema.get("anyOf", [])]:
        if "enum" in option:
            return list(option["enum"])
        if "pattern" in option:
            pattern = option["pattern"]
            values = _finite_language(pattern)
            if values is None:
                draw = st.lists(st.from_regex(pattern, fullmatch=True), min_size=25, max_size=25)
                values = find(draw, lambda _: True, settings=settings(derandomize=True))
            return values
    return []


def test_every_documented_filter_value_is_answered(
    api_base_url: str, owned: tuple[dict[str, str], dict[str, str]]
) -> None:
    """Each query parameter's every documented value (pattern or enum) reaches the code that
    reads it, on the user's own rows, and gets an answer that is not a server error."""
    user_headers, own_ids = owned
    document = httpx.get(f"{api_base_url}/api/v1/openapi.json").json()
    checked = 0
    failures: list[str] = []
    with httpx.Client(base_url=api_base_url, headers=user_headers, timeout=5) as client:
        for path, operations in document["paths"].items():
            get = operations.get("get")
            if get is None:
                continue
            url = path.format(**own_ids) if "{" in path else path
            for parameter in get.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                for value in _documented_values(parameter["schema"]):
                    checked += 1
                    try:
                        response = client.get(url, params={parameter["name"]: value})
                    except httpx.TimeoutException:
                        failures.append(f"no answer within 5 s: {url}?{parameter['name']}={value}")
                        continue
                    if response.status_code >= 500:
                        failures.append(f"{response.status_code}: {response.request.url}")
    assert checked > 500, checked  # the status filter alone documents 507 values
    assert not failures, "\n".join(failures[:20])
