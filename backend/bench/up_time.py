"""How long the README's first command takes until /api/v1/health/ready says ok.

Scenarios, each in a clone of this repository under /tmp:
  fresh           a new clone: uv sync, npm ci + dashboard build, migrations, every process
  warm            the same clone again (environment, dashboard and database already there)
  warm --no-build the same, without the dashboard step
  fresh-embedded  a new clone with `--embedded`: private PostgreSQL (initdb) and Redis
  warm-embedded   that clone again
Baseline, measured in the same run: `seo-platform api` alone in the warm clone, to liveness.

Run from the repository root: `uv run python backend/bench/up_time.py [--repeat N]`
(fresh scenarios run once per repetition each; medians are printed). Uses the PostgreSQL and
Redis on the default local ports for the non-embedded runs, database `seo_platform`.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def status_of(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def time_until_ok(command: list[str], *, cwd: Path, url: str, log: Path, timeout: float) -> float:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, process_group=0
        )
    try:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}; see {log}")
            if status_of(url) == 200:
                return time.monotonic() - started
            time.sleep(0.25)
        raise RuntimeError(f"{url} not ok within {timeout}s; see {log}")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_up(clone: Path, *extra: str) -> float:
    port, flower = free_port(), free_port()
    command = ["scripts/up", "--port", str(port), "--flower-port", str(flower), *extra]
    url = f"http://127.0.0.1:{port}/api/v1/health/ready"
    return time_until_ok(command, cwd=clone, url=url, log=clone / "up.log", timeout=900)


def run_api_alone(clone: Path) -> float:
    port = free_port()
    command = [".venv/bin/seo-platform", "api", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/api/v1/health"
    return time_until_ok(command, cwd=clone, url=url, log=clone / "api.log", timeout=300)


def fresh_clone(parent: Path, name: str) -> Path:
    clone = parent / name
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    return clone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    parent = Path(tempfile.mkdtemp(prefix="seo-up-bench-"))
    try:
        for round_ in range(args.repeat):
            clone = fresh_clone(parent, f"local-{round_}")
            results.setdefault("fresh", []).append(run_up(clone))
            results.setdefault("warm", []).append(run_up(clone))
            results.setdefault("warm --no-build", []).append(run_up(clone, "--no-build"))
            results.setdefault("baseline: api alone", []).append(run_api_alone(clone))
            embedded = fresh_clone(parent, f"embedded-{round_}")
            results.setdefault("fresh-embedded", []).append(run_up(embedded, "--embedded"))
            results.setdefault("warm-embedded", []).append(run_up(embedded, "--embedded"))
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    baseline = statistics.median(results["baseline: api alone"])
    print(f"seo-platform up -> /health/ready ok, medians of {args.repeat} run(s):")
    for name, values in results.items():
        median = statistics.median(values)
        runs = ", ".join(f"{value:.1f}" for value in values)
        print(f"  {name:<22} {median:7.1f} s   x{median / baseline:5.1f} of the baseline  [{runs}]")


if __name__ == "__main__":
    main()
