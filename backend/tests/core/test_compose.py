"""docker-compose.yml checked without a Docker engine: every command it runs exists in the
CLI, every queue has a consumer, every image is built from a Dockerfile that exists,
required secrets fail fast, Redis stays private and Beat stays one."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import build_parser
from app.core.celery_app import QUEUES
from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[3]
REQUIRED_SECRETS = (
    "SECRET_KEY",
    "POSTGRES_PASSWORD",
    "FIRST_SUPERUSER",
    "FIRST_SUPERUSER_PASSWORD",
    "FLOWER_BASIC_AUTH_PASSWORD",
)
INFRASTRUCTURE_IMAGES = {"db": "postgres:16", "redis": "redis:7"}
APP_SERVICES = ("prestart", "backend", "worker", "worker-render", "beat", "flower")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(scope="module")
def services(compose_text: str) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(compose_text)  # resolves the anchors and `<<` merges
    result: dict[str, dict[str, Any]] = document["services"]
    return result


def _cli_args(command: list[str]) -> Any:
    assert command[0] == "seo-platform", command
    try:
        return build_parser().parse_args(command[1:])
    except SystemExit as exit_:  # argparse's way of saying "no such command/option"
        raise AssertionError(f"the CLI rejects {command}") from exit_


def _dockerfile_cmd(path: Path) -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", path.read_text(), re.MULTILINE)
    assert match, f"{path.name} has no exec-form CMD"
    command: list[str] = json.loads(match.group(1))
    return command


def test_the_fixed_layout_exists() -> None:
    for name in ("docker-compose.yml", "Dockerfile", "Dockerfile.playwright", ".env.example"):
        assert (ROOT / name).is_file(), name
    assert (ROOT / "frontend" / "Dockerfile").is_file()
    assert (ROOT / "frontend" / "nginx.conf").is_file()


def test_every_command_exists_in_the_cli(services: dict[str, dict[str, Any]]) -> None:
    commands = {name: services[name]["command"] for name in APP_SERVICES}
    commands["Dockerfile CMD"] = _dockerfile_cmd(ROOT / "Dockerfile")
    commands["Dockerfile.playwright CMD"] = _dockerfile_cmd(ROOT / "Dockerfile.playwright")
    for command in commands.values():
        _cli_args(command)
    assert _cli_args(services["prestart"]["command"]).command == "migrate"
    assert _cli_args(services["backend"]["command"]).command == "api"
    assert _cli_args(services["flower"]["command"]).command == "flower"


def test_every_queue_has_a_consumer(services: dict[str, dict[str, Any]]) -> None:
    consumed: dict[str, list[str]] = {}
    for name, service in services.items():
        command = service.get("command")
        if isinstance(command, list) and command[:2] == ["seo-platform", "worker"]:
            for queue in _cli_args(command).queues.split(","):
                consumed.setdefault(queue, []).append(name)
    assert set(consumed) == set(QUEUES), consumed
    assert consumed["render"] == ["worker-render"]


def test_every_image_is_built_from_a_dockerfile_that_exists(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name in INFRASTRUCTURE_IMAGES:
            assert service["image"] == INFRASTRUCTURE_IMAGES[name]
            assert "build" not in service
            continue
        build = service.get("build")
        assert build, f"{name} is not built from this repository"
        dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
    assert services["worker-render"]["build"]["dockerfile"] == "Dockerfile.playwright"
    assert (
        "BROWSER_EXECUTABLE_PATH=/usr/bin/chromium" in (ROOT / "Dockerfile.playwright").read_text()
    )


def test_required_secrets_fail_fast(compose_text: str) -> None:
    for name in REQUIRED_SECRETS:
        uses = re.findall(r"\$\{" + name + r"(\W{1,2})", compose_text)
        assert uses, f"{name} is not used"
        assert set(uses) == {":?"}, f"{name} must always be ${{{name}:?...}}, found {uses}"


def test_redis_and_the_database_are_not_published(services: dict[str, dict[str, Any]]) -> None:
    assert "ports" not in services["redis"]
    assert "ports" not in services["db"]
    assert "--appendonly" in services["redis"]["command"]


def test_exactly_one_beat(services: dict[str, dict[str, Any]]) -> None:
    beats = [
        name
        for name, service in services.items()
        if isinstance(service.get("command"), list) and service["command"][1:2] == ["beat"]
    ]
    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert "volumes" in services["beat"]  # the schedule state survives a restart


def test_start_order_is_healthcheck_gated(services: dict[str, dict[str, Any]]) -> None:
    for name in ("db", "redis", "backend"):
        assert services[name]["healthcheck"]["test"], name
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        if name != "prestart":
            assert depends["prestart"]["condition"] == "service_completed_successfully", name
    assert services["prestart"]["restart"] == "no"
    assert services["frontend"]["depends_on"]["backend"]["condition"] == "service_healthy"


def test_app_environment_names_real_settings(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        unknown = set(services[name]["environment"]) - set(Settings.model_fields)
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
        assert services[name]["environment"]["ENVIRONMENT"] == "production"


def test_the_dashboard_proxies_the_api_to_the_backend(services: dict[str, dict[str, Any]]) -> None:
    nginx = (ROOT / "frontend" / "nginx.conf").read_text()
    assert re.search(r"location /api/ \{[^}]*proxy_pass http://backend:8000;", nginx)
    assert "try_files $uri $uri/ /index.html;" in nginx
    assert _cli_args(services["backend"]["command"]).port == 8000


def test_long_running_services_are_restarted_when_they_die(
    services: dict[str, dict[str, Any]],
) -> None:
    # A worker that dies (say, while Redis is away) comes back; Docker backs off itself.
    for name, service in services.items():
        if name != "prestart":
            assert service["restart"] == "unless-stopped", name
