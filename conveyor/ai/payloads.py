"""Workflow and activity payloads of the AI task job; free of side effects."""

from dataclasses import dataclass
from typing import Any

from conveyor.jobs.payloads import JobRef, RetrySpec

# Raised by the one-call activity for input only map-reduce can take; the
# workflow then runs the task as a regular activity instead.
NEEDS_MANY_CALLS = "NeedsManyModelCalls"


@dataclass(frozen=True)
class AiTaskWorkflowInput:
    job: JobRef
    retry: RetrySpec
    ai_task_id: str
    v: int = 1


@dataclass(frozen=True)
class AiTaskActivityInput:
    """Only the task's id: its content stays in PostgreSQL, out of Temporal's history."""

    job: JobRef
    ai_task_id: str
    v: int = 1


@dataclass(frozen=True)
class AiTaskResult:
    model: str
    tokens_in: int
    tokens_out: int
    cost_cents: str  # a Decimal, as text to stay exact
    calls: int
    v: int = 1

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tokensIn": self.tokens_in,
            "tokensOut": self.tokens_out,
            "costCents": self.cost_cents,
            "calls": self.calls,
        }
