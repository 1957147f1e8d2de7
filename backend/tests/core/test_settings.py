import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.core.config import DEFAULT_SECRET, SECRET_MIN_LENGTHS, Settings


def test_seed_defaults() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (s.MAX_CRAWL_PAGES, s.MAX_RENDER_PAGES) == (1000, 100)
    assert (s.SERP_REFRESH_DAILY_CAP, s.MAX_KEYWORDS_PER_PROJECT) == (100, 500)
    assert (s.CRAWL_TIMEOUT, s.RENDER_TIMEOUT, s.API_REQUEST_TIMEOUT) == (30, 30, 60)


def test_broker_defaults_to_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CELERY_BROKER_URL")
    monkeypatch.delenv("CELERY_RESULT_BACKEND")
    s = Settings(_env_file=None, REDIS_URL="redis://example:6379/3")  # type: ignore[call-arg]
    assert s.broker_url == "redis://example:6379/3"
    assert s.result_backend_url == "redis://example:6379/3"


KEY = Fernet.generate_key().decode()


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None, ENVIRONMENT="production")  # type: ignore[call-arg]
    strong = "x" * 40
    ok = Settings(  # type: ignore[call-arg]
        _env_file=None,
        ENVIRONMENT="production",
        SECRET_KEY=strong,
        FIRST_SUPERUSER_PASSWORD=strong,
        FLOWER_BASIC_AUTH_PASSWORD=strong,
        CREDENTIALS_ENCRYPTION_KEYS=KEY,
    )
    assert ok.SECRET_KEY != DEFAULT_SECRET


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_every_shared_environment_refuses_placeholder_or_short_secrets(environment: str) -> None:
    strong = {name: "x" * 40 for name in SECRET_MIN_LENGTHS}
    strong["CREDENTIALS_ENCRYPTION_KEYS"] = KEY
    Settings(_env_file=None, ENVIRONMENT=environment, **strong)  # type: ignore[call-arg]
    for name in SECRET_MIN_LENGTHS:
        for bad in (DEFAULT_SECRET, "changethis", "x" * (SECRET_MIN_LENGTHS[name] - 1)):
            with pytest.raises(ValidationError, match=name):
                Settings(  # type: ignore[call-arg]
                    _env_file=None, ENVIRONMENT=environment, **{**strong, name: bad}
                )


@pytest.mark.parametrize("environment", ["local", "test"])
def test_a_developer_machine_and_the_tests_may_use_placeholders(environment: str) -> None:
    relaxed = Settings(_env_file=None, ENVIRONMENT=environment, SECRET_KEY="change-me")  # type: ignore[call-arg]
    assert relaxed.SECRET_KEY == DEFAULT_SECRET


def test_cors_origins_from_comma_list() -> None:
    s = Settings(_env_file=None, BACKEND_CORS_ORIGINS="http://a.test, http://b.test/")  # type: ignore[call-arg]
    assert s.cors_origins == ["http://a.test", "http://b.test"]


def test_env_example_documents_every_setting() -> None:
    from pathlib import Path

    example = (Path(__file__).resolve().parents[3] / ".env.example").read_text()
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line
    }
    missing = set(Settings.model_fields) - documented
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_credential_keys_are_required_outside_local_and_test_and_must_be_fernet_keys() -> None:
    strong: dict[str, str] = {name: "x" * 40 for name in SECRET_MIN_LENGTHS}
    with pytest.raises(ValidationError, match="CREDENTIALS_ENCRYPTION_KEYS must be set"):
        Settings(_env_file=None, ENVIRONMENT="production", **strong)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="not a Fernet key"):
        Settings(_env_file=None, CREDENTIALS_ENCRYPTION_KEYS="not-a-key")  # type: ignore[call-arg]
    rotated = Settings(  # type: ignore[call-arg]
        _env_file=None, CREDENTIALS_ENCRYPTION_KEYS=f"{KEY}, {Fernet.generate_key().decode()}"
    )
    assert rotated.CREDENTIALS_ENCRYPTION_KEYS[0] == KEY
    assert len(rotated.CREDENTIALS_ENCRYPTION_KEYS) == 2
