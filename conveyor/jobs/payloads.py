"""Payload types shared by every workflow; free of side effects so workflows may import them."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy


@dataclass(frozen=True)
class JobRef:
    """Identifies a job everywhere it travels: workflow, activities and log lines."""

    job_run_id: str
    job_id: str
    job_name: str
    org_id: str
    user_id: str
    correlation_id: str | None = None


@dataclass(frozen=True)
class RetrySpec:
    """A kind's retry policy, resolved from settings by the API when the job starts."""

    max_attempts: int
    initial_interval_seconds: float = 1.0
    max_interval_seconds: float = 60.0
    heartbeat_timeout_seconds: float = 10.0

    def policy(self, non_retryable: list[str] | None = None) -> RetryPolicy:
        return RetryPolicy(
            initial_interval=timedelta(seconds=self.initial_interval_seconds),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=self.max_interval_seconds),
            maximum_attempts=self.max_attempts,
            non_retryable_error_types=non_retryable or [],
        )

    @property
    def heartbeat_timeout(self) -> timedelta:
        return timedelta(seconds=self.heartbeat_timeout_seconds)


@dataclass(frozen=True)
class SystemRunInput:
    """A scheduled workflow's own run, to record in `job_runs` under its workflow id."""

    job_id: str
    run_id: str
    job_name: str
    task_queue: str
    v: int = 1


@dataclass(frozen=True)
class FinishJobInput:
    """The end of a job, as the workflow reports it to the mirror."""

    job: JobRef
    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
