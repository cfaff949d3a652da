"""Configuration, read once from the environment (and an optional `.env`)."""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from conveyor.constants import TaskQueue


class Settings(BaseSettings):
    """Every knob Conveyor has; see the README's configuration table."""

    # While `make run` is up, `.state/dev.env` holds its services' addresses, so
    # `conveyor email tick` or `conveyor tokens create` beside it need no
    # exports; `.env` and the real environment take precedence over it.
    model_config = SettingsConfigDict(env_file=(".state/dev.env", ".env"), extra="ignore")

    database_url: str = Field(
        "",
        description="postgresql+asyncpg://...; `conveyor dev` starts one when empty.",
    )
    temporal_address: str = Field(
        "", description="host:port of Temporal; `conveyor dev` starts one when empty."
    )
    temporal_namespace: str = "default"
    task_queue_prefix: str = Field("", description="Prefixed to every task queue name.")

    s3_endpoint_url: str = Field(
        "", description="S3 endpoint; `conveyor dev` starts SeaweedFS when empty."
    )
    s3_public_endpoint_url: str = Field(
        "", description="Endpoint used in presigned URLs when clients reach S3 by another name."
    )
    s3_bucket: str = "conveyor"
    s3_region: str = "us-east-1"
    s3_access_key_id: str = "conveyor"
    s3_secret_access_key: str = "conveyor"
    s3_max_attempts: int = Field(3, ge=1, description="Attempts per S3 call, boto3 retrying.")
    presign_expiry_seconds: int = Field(900, ge=1, le=7 * 24 * 3600)

    state_dir: Path = Path(".state")
    log_level: str = "INFO"
    queue_workers_enabled: bool = True
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    metrics_host: str = Field("127.0.0.1", description="Interface of the worker's /metrics.")
    worker_metrics_port: int = Field(
        9464, ge=0, le=65535, description="Port of `conveyor worker`'s /metrics; 0: off."
    )
    otel_exporter_otlp_endpoint: str = Field(
        "", description="OTLP/HTTP collector, e.g. http://localhost:4318; empty: no tracing."
    )
    otel_service_name: str = Field(
        "", description="Service name on spans; empty: conveyor-api or conveyor-worker."
    )

    dedupe_window_seconds: int = Field(600, ge=0)
    job_dedupe_windows: dict[str, int] = Field(
        default_factory=dict, description='Per job name, e.g. {"export": 60}.'
    )
    idempotency_key_ttl_seconds: int = Field(24 * 3600, ge=1)
    job_max_attempts: dict[str, int] = Field(
        default_factory=dict, description='Per job name, e.g. {"export": 5}.'
    )
    retry_initial_interval_seconds: float = Field(1.0, gt=0)
    retry_max_interval_seconds: float = Field(60.0, gt=0)
    heartbeat_timeout_seconds: float = Field(10.0, gt=0)

    openai_api_key: str = Field("", description="Empty: the offline provider answers.")
    openai_base_url: str = Field("", description="Any OpenAI-compatible server.")
    openai_timeout_seconds: float = Field(120.0, gt=0)
    ai_prices: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Price overrides in USD per 1M tokens, e.g. {"gpt-4o-mini": {"input": 0.15}}.',
    )
    ai_max_content_chars: int = Field(200_000, ge=1)
    ai_chunk_tokens: int = Field(
        0, ge=0, description="Largest input per model call; 0: the model's context window."
    )
    ai_monthly_limit_cents: Decimal | None = Field(
        None, ge=0, description="Default monthly AI spend limit per org; empty: no limit."
    )
    ai_org_monthly_limits_cents: dict[str, Decimal] = Field(
        default_factory=dict, description='Per org, e.g. {"acme": 500}.'
    )
    ai_max_concurrent_activities: int = Field(32, ge=1)

    doc_max_upload_mb: int = Field(50, ge=1, description="Largest document upload (413 above).")
    doc_max_pages: int = Field(500, ge=1)
    doc_ocr_languages: str = Field("eng", description="Tesseract languages, e.g. eng+fra.")
    doc_ocr_dpi: int = Field(300, ge=72, le=600)
    doc_pages_per_batch: int = Field(4, ge=1, le=100, description="Scanned pages per batch.")
    doc_max_concurrent_activities: int = Field(
        0, ge=0, description="Docs activities at once per worker; 0: four per CPU core."
    )

    # Email
    smtp_host: str = Field("", description="SMTP relay; `conveyor dev` starts a sink when empty.")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = Field(True, description="Require STARTTLS before sending.")
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = Field(30.0, gt=0)
    smtp_connections: int = Field(4, ge=1, le=64, description="SMTP connections per tick batch.")
    email_schedule_enabled: bool = Field(True, description="Workers create the tick schedule.")
    email_tick_interval_seconds: int = Field(300, ge=1)
    email_batch_size: int = Field(200, ge=1, le=5000)
    email_max_batches_per_tick: int = Field(50, ge=1)
    email_lease_seconds: int = Field(600, ge=10)
    email_webhook_secret: str = Field("", description="HMAC key of POST /api/email/events.")
    email_unsubscribe_secret: str = Field(
        "", description="HMAC key of unsubscribe links; empty: derived from the webhook secret."
    )
    email_public_base_url: str = Field(
        "", description="Base of unsubscribe links; empty: http://API_HOST:API_PORT."
    )

    org_concurrency_limits: dict[str, int] = Field(
        default_factory=dict,
        description='Most jobs of a kind one org runs at once, e.g. {"export": 2}; none: no cap.',
    )
    retention_days: int = Field(30, ge=1, description="Finished jobs older than this are removed.")
    job_retention_days: dict[str, int] = Field(
        default_factory=dict, description='Per job name, e.g. {"export": 7}.'
    )
    retention_interval_hours: float = Field(24, gt=0)
    retention_schedule_enabled: bool = Field(True, description="Workers create its schedule.")

    export_part_size_mb: int = Field(8, ge=5, le=512)
    export_upload_concurrency: int = Field(4, ge=1, le=32)
    worker_max_concurrent_activities: int = Field(8, ge=1)
    workflow_sandbox: bool = Field(
        False,
        description="Run workflow code in Temporal's sandbox, which rejects"
        " non-deterministic calls; costs ~8 ms of CPU per workflow run. The tests turn it on.",
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url

    def require(self, *names: str) -> None:
        """Fails fast, naming the variables a command needs but did not get."""
        missing = [name.upper() for name in names if not getattr(self, name)]
        if missing:
            raise SystemExit(
                f"{', '.join(missing)} not set: `make run` starts embedded services,"
                " or set them to your own (see the README's configuration table)."
            )

    def task_queue(self, queue: TaskQueue) -> str:
        return f"{self.task_queue_prefix}{queue.value}"

    def dedupe_window(self, job_name: str) -> int:
        return self.job_dedupe_windows.get(job_name, self.dedupe_window_seconds)

    def ai_monthly_limit(self, org_id: str) -> Decimal | None:
        return self.ai_org_monthly_limits_cents.get(org_id, self.ai_monthly_limit_cents)

    def retention_for(self, job_name: str) -> int:
        return self.job_retention_days.get(job_name, self.retention_days)

    def max_attempts(self, job_name: str, default: int) -> int:
        return self.job_max_attempts.get(job_name, default)


@lru_cache
def get_settings() -> Settings:
    return Settings()
