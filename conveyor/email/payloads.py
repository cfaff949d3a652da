"""Payloads of the email tick workflow and its activities; free of side effects.

They carry ids and counts only: addresses, variables and bodies stay in
PostgreSQL, out of Temporal's history.
"""

from dataclasses import dataclass
from typing import Any

from conveyor.jobs.payloads import JobRef, RetrySpec


@dataclass(frozen=True)
class EmailTickInput:
    """What the schedule passes each tick; refreshed from settings when a worker starts."""

    retry: RetrySpec
    batch_size: int = 200
    max_batches: int = 50
    v: int = 1


@dataclass(frozen=True)
class SendDueInput:
    job: JobRef
    batch_size: int
    max_batches: int
    # Claims are made under the tick's id, so a retried attempt of the same
    # tick takes back what a crashed attempt had claimed, and nobody else can.
    lease_token: str
    v: int = 1


@dataclass(frozen=True)
class TickResult:
    claimed: int = 0
    sent: int = 0
    bounced: int = 0
    stopped: int = 0
    completed: int = 0
    batches: int = 0
    v: int = 1

    def summary(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "bounced": self.bounced,
            "stopped": self.stopped,
            "completed": self.completed,
            "batches": self.batches,
        }
