"""One typed `Settings` for the API, the workers and the CLI alike.

Values come from the environment and from `.env`; `.env.example` documents every one.
"""

from functools import lru_cache
from typing import Annotated, Any, Literal, Self

from pydantic import AnyUrl, BeforeValidator, Field, computed_field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "change-me"  # noqa: S105 - the placeholder production refuses

# Where placeholder secrets are allowed (`seo-platform up` generates real ones for `local`).
RELAXED_ENVIRONMENTS = ("local", "test")
# Values anyone could guess, refused elsewhere, whatever their length.
PLACEHOLDER_SECRETS = frozenset(
    {DEFAULT_SECRET, "changeme", "changethis", "change-this", "secret", "password", "admin"}
)
SECRET_MIN_LENGTHS = {
    "SECRET_KEY": 32,  # signs every token: HS256 wants at least 256 bits
    "FIRST_SUPERUSER_PASSWORD": 12,
    "FLOWER_BASIC_AUTH_PASSWORD": 12,
    "METRICS_TOKEN": 32,  # when set
}


def _split_csv(value: object) -> object:
    if isinstance(value, str) and not value.startswith("["):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    PROJECT_NAME: str = "SEO Platform"
    ENVIRONMENT: Literal["local", "test", "staging", "production"] = "local"
    API_V1_STR: str = "/api/v1"
    # Secrets stay out of the settings' repr (an error message or a log line may show it).
    SECRET_KEY: str = Field(default=DEFAULT_SECRET, repr=False)
    ACCESS_TOKEN_EXPIRE_MINUTES: int = 60 * 24 * 8
    BACKEND_CORS_ORIGINS: Annotated[
        list[AnyUrl] | list[str], NoDecode, BeforeValidator(_split_csv)
    ] = ["http://localhost:5173"]
    FRONTEND_DIST: str = "frontend/dist"

    # Login protection: attempts per window, counted in Redis across every API process
    LOGIN_RATE_LIMIT_PER_ACCOUNT: int = Field(default=10, ge=1)
    LOGIN_RATE_LIMIT_PER_ADDRESS: int = Field(default=50, ge=1)
    SIGNUP_RATE_LIMIT_PER_ADDRESS: int = Field(default=10, ge=1)
    LOGIN_RATE_LIMIT_WINDOW_SECONDS: int = Field(default=900, ge=1)
    # Argon2 hashes computed at once per API process, and how long a login waits for one
    PASSWORD_HASH_CONCURRENCY: int = Field(default=2, ge=1, le=64)
    PASSWORD_HASH_QUEUE_TIMEOUT: float = Field(default=10, gt=0)

    FIRST_SUPERUSER: str = "admin@example.com"
    FIRST_SUPERUSER_PASSWORD: str = Field(default=DEFAULT_SECRET, repr=False)

    DATABASE_URL: str = Field(
        default="postgresql+psycopg://postgres@127.0.0.1:5432/seo_platform", repr=False
    )
    DATABASE_POOL_SIZE: int = Field(default=5, ge=1)
    DATABASE_MAX_OVERFLOW: int = Field(default=10, ge=0)
    DATABASE_POOL_TIMEOUT: float = Field(default=30, gt=0)
    JOB_STATUS_POOL_SIZE: int = Field(default=4, ge=1, le=100)
    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    # Redis behind Sentinel: the master's name; REDIS_URL (and the broker and result backend
    # URLs) then list the sentinels, `sentinel://host1:26379;sentinel://host2:26379/0`.
    REDIS_SENTINEL_MASTER: str | None = None
    CELERY_BROKER_URL: str | None = None
    CELERY_RESULT_BACKEND: str | None = None
    # Extra kombu transport options for the broker (JSON), over the platform's own.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = Field(default_factory=dict)

    FLOWER_PORT: int = 5555
    FLOWER_URL: str = "http://localhost:5555"
    FLOWER_BASIC_AUTH_USER: str = "flower"
    FLOWER_BASIC_AUTH_PASSWORD: str = Field(default=DEFAULT_SECRET, repr=False)

    # Task limits (the seed's caps)
    MAX_CRAWL_PAGES: int = Field(default=1000, ge=1)
    MAX_RENDER_PAGES: int = Field(default=100, ge=0)
    SERP_REFRESH_DAILY_CAP: int = Field(default=100, ge=0)
    MAX_KEYWORDS_PER_PROJECT: int = Field(default=500, ge=0)

    # Per-user quotas (superusers are exempt); 429 beyond them
    MAX_PROJECTS_PER_USER: int = Field(default=50, ge=1)
    MAX_ACTIVE_JOBS_PER_USER: int = Field(default=20, ge=1)

    # Timeouts, seconds
    CRAWL_TIMEOUT: float = Field(default=30, gt=0)
    RENDER_TIMEOUT: float = Field(default=30, gt=0)
    API_REQUEST_TIMEOUT: float = Field(default=60, gt=0)

    # Crawler
    CRAWL_USER_AGENT: str = "SEOPlatformBot/0.1 (+https://github.com/seo-platform)"
    CRAWL_CONCURRENCY: int = Field(default=32, ge=1)
    CRAWL_PER_HOST_CONCURRENCY: int = Field(default=16, ge=1)
    CRAWL_MAX_BODY_BYTES: int = Field(default=5 * 1024 * 1024, ge=1024)
    CRAWL_ALLOW_PRIVATE_NETWORKS: bool = False
    MAX_CRAWL_DEPTH: int = Field(default=10, ge=0)
    CRAWL_PARSE_WORKERS: int = Field(default=1, ge=0, le=8)
    BROWSER_EXECUTABLE_PATH: str | None = None

    # Audit checks
    # The search engine audits judge for: its robots.txt group and robots meta/header names.
    AUDIT_ROBOTS_AGENT: str = Field(default="Googlebot", min_length=1, max_length=64)
    # Near duplicates: pages whose main-content SimHashes differ in at most this many bits.
    AUDIT_NEAR_DUPLICATE_BITS: int = Field(default=3, ge=0, le=3)
    # Images heavier than this are reported.
    AUDIT_IMAGE_MAX_BYTES: int = Field(default=200 * 1024, ge=1024)
    # External links checked per audit (HEAD, then GET; a tenth of them at most per host).
    AUDIT_EXTERNAL_LINKS_MAX: int = Field(default=500, ge=0, le=10_000)

    # Celery task time limits, seconds
    TASK_SOFT_TIME_LIMIT: int = 3300
    TASK_TIME_LIMIT: int = 3600

    # Job runtime
    JOB_LEASE_SECONDS: int = Field(default=120, ge=5)
    JOB_MAX_ATTEMPTS: int = Field(default=4, ge=1)
    JOB_RETRY_BACKOFF_CAP_SECONDS: int = Field(default=600, ge=1)
    JOB_RETRY_BACKOFF_BASE_SECONDS: float = Field(default=2.0, gt=0)
    JOB_REQUEUE_AFTER_SECONDS: int = Field(default=120, ge=5)
    # A job waiting this long in a queue no live worker consumes fails as queue_stalled.
    JOB_QUEUE_STALL_SECONDS: int = Field(default=1800, ge=0)

    # Priorities and fairness (docs/architecture.md, "Priorities and fairness")
    # Off: every job is published at one priority (first come, first served).
    JOB_PRIORITIES_ENABLED: bool = True
    # While bulk jobs wait, at least one pick in this many (per queue) takes the oldest one.
    JOB_BULK_EVERY_NTH_PICK: int = Field(default=5, ge=2, le=1000)
    # The most of a queue's worker slots one account (a user, or a project when no user
    # started the job) holds while another account's jobs wait; 1 turns fairness off.
    JOB_FAIR_SHARE: float = Field(default=0.5, gt=0, le=1)
    # A job over its account's share is published again after this long (still queued,
    # no attempt spent).
    JOB_FAIR_SHARE_RETRY_SECONDS: float = Field(default=1.0, gt=0, le=60)

    # Retention, days
    JOB_RETENTION_DAYS: int = Field(default=30, ge=1)
    FAILED_JOB_RETENTION_DAYS: int = Field(default=90, ge=1)
    AUDIT_RETENTION_DAYS: int = Field(default=180, ge=1)
    # The job_events outbox (terminal transitions), consumed within seconds
    JOB_EVENT_RETENTION_DAYS: int = Field(default=14, ge=2)

    # Weekly database optimization (VACUUM (ANALYZE) of the large tables): the longest one
    # table's VACUUM may run, and how long it waits for a table another session holds
    # (a migration, an index build) before reporting it locked and going on.
    OPTIMIZE_DB_STATEMENT_TIMEOUT_SECONDS: float = Field(default=900, gt=0)
    OPTIMIZE_DB_LOCK_TIMEOUT_SECONDS: float = Field(default=30, gt=0)

    # Operations endpoints
    HEALTH_CACHE_SECONDS: float = Field(default=3, ge=0)
    METRICS_TOKEN: str | None = Field(default=None, repr=False)

    # Third-party credentials at rest (core/secrets.py): Fernet keys, newest first. Empty in
    # local and test runs derives one from SECRET_KEY; staging and production must set it.
    CREDENTIALS_ENCRYPTION_KEYS: Annotated[list[str], NoDecode, BeforeValidator(_split_csv)] = (
        Field(default_factory=list, repr=False)
    )

    # Third-party APIs: base URLs (tests and staging point the real clients at local servers;
    # Google's token endpoints come from each credential's own token_uri)
    GSC_API_BASE_URL: str = "https://www.googleapis.com"
    GOOGLE_ADS_API_BASE_URL: str = "https://googleads.googleapis.com"
    GOOGLE_ADS_API_VERSION: str = Field(default="v22", pattern=r"^v(2\d|[3-9]\d)$")
    # Hosts a credential's token_uri may name (a user-supplied URL the workers would call)
    GOOGLE_TOKEN_HOSTS: Annotated[list[str], NoDecode, BeforeValidator(_split_csv)] = [
        "oauth2.googleapis.com",
        "accounts.google.com",
        "www.googleapis.com",
    ]
    SERPAPI_BASE_URL: str = "https://serpapi.com"
    DATAFORSEO_BASE_URL: str = "https://api.dataforseo.com"
    # Provider rate limits, shared by every worker through Redis (core/token_bucket.py)
    GSC_QUERIES_PER_MINUTE: int = Field(default=1200, ge=1)  # per property and per user
    ADS_REQUESTS_PER_MINUTE: int = Field(default=300, ge=1)  # per developer token
    PROVIDER_HTTP_TIMEOUT: float = Field(default=30, gt=0)
    # Retries of one provider call (429, 5xx, quota) before the job itself is retried
    PROVIDER_MAX_RETRIES: int = Field(default=5, ge=0, le=20)
    PROVIDER_RETRY_MAX_SECONDS: float = Field(default=60, gt=0)
    GSC_BACKFILL_MAX_DAYS: int = Field(default=486, ge=1, le=486)  # 16 months
    ADS_FIRST_SYNC_DAYS: int = Field(default=90, ge=1, le=730)
    # Rank tracking: results checked per keyword (SerpApi pages 10 at a time; DataForSEO
    # takes up to 200 in one call), checks in flight per refresh, each provider account's
    # requests per minute (shared by every worker), and how long snapshots are kept.
    SERP_CHECK_DEPTH: int = Field(default=100, ge=10, le=200)
    SERP_REFRESH_CONCURRENCY: int = Field(default=8, ge=1, le=64)
    SERPAPI_REQUESTS_PER_MINUTE: int = Field(default=300, ge=1)
    DATAFORSEO_REQUESTS_PER_MINUTE: int = Field(default=2000, ge=1)
    SERP_SNAPSHOT_RETENTION_DAYS: int = Field(default=90, ge=1)

    # Backlink imports: the largest upload accepted (413 above it), and where uploads wait
    # for their job (a directory the API and the `low`-queue workers share)
    LINKS_MAX_UPLOAD_BYTES: int = Field(default=200 * 1024 * 1024, ge=1024)
    LINKS_UPLOAD_DIR: str = ".data/link-uploads"
    # A file of links from this size on is parsed by two processes (the import's own and a
    # helper it starts); 0 turns the helper off (one core, or a worker that must not spawn).
    LINKS_IMPORT_HELPER_MIN_BYTES: int = Field(default=8 * 1024 * 1024, ge=0)

    # Where people reach the dashboard: links in emails and webhook payloads
    PUBLIC_URL: str = "http://localhost:8000"

    # Notifications: email over SMTP. No SMTP_HOST: emails are skipped (shown as `skipped`).
    SMTP_HOST: str | None = None
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = Field(default=None, repr=False)
    SMTP_TLS: Literal["none", "starttls", "tls"] = "starttls"
    SMTP_TIMEOUT: float = Field(default=10, gt=0, le=120)
    EMAIL_FROM: str = "SEO Platform <notifications@localhost>"
    # Notifications: webhooks (receivers on private addresses only with the flag below)
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool = False
    WEBHOOK_TIMEOUT_SECONDS: float = Field(default=5, gt=0, le=30)
    WEBHOOK_MAX_ATTEMPTS: int = Field(default=6, ge=1, le=20)
    WEBHOOK_RETRY_BASE_SECONDS: float = Field(default=10, gt=0)
    WEBHOOK_RETRY_CAP_SECONDS: float = Field(default=3600, gt=0)
    WEBHOOK_DISABLE_AFTER_FAILURES: int = Field(default=20, ge=1)
    WEBHOOKS_PER_PROJECT: int = Field(default=10, ge=1, le=100)
    # Deliveries one sending task has in flight at once (a slow receiver holds only its own)
    NOTIFICATION_SEND_CONCURRENCY: int = Field(default=64, ge=1, le=512)

    LOG_LEVEL: str = "INFO"
    LOG_JSON: bool | None = None  # default: JSON in production, console elsewhere

    @computed_field  # type: ignore[prop-decorator]
    @property
    def broker_url(self) -> str:
        return self.CELERY_BROKER_URL or self.REDIS_URL

    @computed_field  # type: ignore[prop-decorator]
    @property
    def result_backend_url(self) -> str:
        return self.CELERY_RESULT_BACKEND or self.REDIS_URL

    @property
    def sentinel_transport_options(self) -> dict[str, Any]:
        """What kombu and Celery's result backend need to find the master through sentinels."""
        if self.REDIS_SENTINEL_MASTER is None:
            return {}
        return {"master_name": self.REDIS_SENTINEL_MASTER}

    @property
    def log_json(self) -> bool:
        return self.LOG_JSON if self.LOG_JSON is not None else self.ENVIRONMENT == "production"

    @property
    def cors_origins(self) -> list[str]:
        return [str(origin).rstrip("/") for origin in self.BACKEND_CORS_ORIGINS]

    @model_validator(mode="after")
    def _sentinel_urls_name_a_master(self) -> Self:
        urls = (self.REDIS_URL, self.broker_url, self.result_backend_url)
        if self.REDIS_SENTINEL_MASTER is None and any(u.startswith("sentinel://") for u in urls):
            raise ValueError("sentinel:// URLs need REDIS_SENTINEL_MASTER (the master's name)")
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        """Every environment but a developer's machine and the test run (staging too: it is
        reachable, and its tokens are as good as production's) refuses placeholder or short
        secrets."""
        if self.ENVIRONMENT in RELAXED_ENVIRONMENTS:
            return self
        for name, minimum in SECRET_MIN_LENGTHS.items():
            value: str | None = getattr(self, name)
            if value is None:
                continue
            if value.strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"{name} is a placeholder ({value!r}): set a real secret before running "
                    f"in {self.ENVIRONMENT}"
                )
            if len(value) < minimum:
                raise ValueError(
                    f"{name} must be at least {minimum} characters in {self.ENVIRONMENT}"
                )
        return self

    @model_validator(mode="after")
    def _credential_keys_are_fernet_keys(self) -> Self:
        from cryptography.fernet import Fernet

        for key in self.CREDENTIALS_ENCRYPTION_KEYS:
            try:
                Fernet(key.encode())
            except ValueError as exc:
                raise ValueError(
                    "CREDENTIALS_ENCRYPTION_KEYS holds a value that is not a Fernet key "
                    "(32 url-safe base64-encoded bytes; make one with "
                    "`python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`)"
                ) from exc
        if self.ENVIRONMENT not in RELAXED_ENVIRONMENTS and not self.CREDENTIALS_ENCRYPTION_KEYS:
            raise ValueError(
                f"CREDENTIALS_ENCRYPTION_KEYS must be set in {self.ENVIRONMENT}: stored "
                "third-party credentials are encrypted with it"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


settings = get_settings()
