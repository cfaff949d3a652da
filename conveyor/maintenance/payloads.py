"""Payloads of the maintenance workflows; free of side effects."""

from dataclasses import dataclass
from typing import Any

from conveyor.jobs.payloads import JobRef


@dataclass(frozen=True)
class RetentionInput:
    job: JobRef
    v: int = 1


@dataclass(frozen=True)
class RetentionResult:
    job_runs: int
    exports: int
    files: int
    dead_letters: int
    v: int = 1

    def summary(self) -> dict[str, Any]:
        return {
            "jobRuns": self.job_runs,
            "exports": self.exports,
            "files": self.files,
            "deadLetters": self.dead_letters,
        }
