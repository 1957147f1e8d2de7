"""Whatever a route raises, the API process answers 500, releases what the request held and
keeps serving everyone else: a real uvicorn process, readable (console) logs, as `up` runs it."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.core.processes import Running, free_port, running, wait_for_http

RAISING_PATHS = ("/boom/sync", "/boom/async", "/boom/dependency")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Running]]:
    port = free_port()
    log_path = Path(tmp_path_factory.mktemp("faulty-api")) / "api.log"
    command = ["python", "-m", "uvicorn", "tests.api.faulty_app:app", "--port", str(port)]
    # Two request slots: an error that kept its slot would block the third request.
    env = {
        "LOG_JSON": "false",
        "LOG_LEVEL": "INFO",
        "DATABASE_POOL_SIZE": "1",
        "DATABASE_MAX_OVERFLOW": "1",
    }
    with running(command, log_path=log_path, env=env) as child:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/api/v1/health", status=200, timeout=120, child=child)
        yield base, child


def test_errors_answer_500_and_the_process_keeps_serving(api: tuple[str, Running]) -> None:
    base, child = api
    request_ids: set[str | None] = set()
    with httpx.Client(base_url=base, timeout=5) as client:
        for _ in range(5):  # more errors than the process has request slots
            for path in RAISING_PATHS:
                response = client.get(path)
                assert response.status_code == 500, (path, response.text)
                assert response.json() == {"detail": "Internal server error"}
                request_ids.add(response.headers.get("x-request-id"))
        slowest = 0.0
        for _ in range(100):
            started = time.perf_counter()
            assert client.get("/api/v1/health").status_code == 200
            assert client.get("/api/v1/projects").status_code == 401  # through the session
            slowest = max(slowest, time.perf_counter() - started)
    assert slowest < 1.0, f"an ordinary request took {slowest:.2f}s after the errors"
    assert None not in request_ids  # the error answers carry their request ids
    assert len(request_ids) == 15
    log = child.output()
    # Logged once each, by the app, with a plain traceback: no locals, no second report by
    # the server ("Exception in ASGI application").
    assert log.count("Boom: from a sync route") == 5, log[-3000:]
    assert "Exception in ASGI application" not in log
    assert "locals" not in log
