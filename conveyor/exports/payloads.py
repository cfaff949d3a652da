"""Workflow and activity payloads of the export job; free of side effects."""

from dataclasses import dataclass, field
from typing import Any

from conveyor.jobs.payloads import JobRef, RetrySpec


@dataclass(frozen=True)
class ExportWorkflowInput:
    job: JobRef
    retry: RetrySpec
    export_job_id: str
    entity: str
    format: str
    filters: dict[str, str] = field(default_factory=dict)
    v: int = 1


@dataclass(frozen=True)
class ExportActivityInput:
    job: JobRef
    export_job_id: str
    entity: str
    format: str
    filters: dict[str, str] = field(default_factory=dict)
    v: int = 1


@dataclass(frozen=True)
class ExportResult:
    file_object_id: str
    row_count: int
    size_bytes: int
    v: int = 1

    def summary(self) -> dict[str, Any]:
        return {
            "fileObjectId": self.file_object_id,
            "rowCount": self.row_count,
            "sizeBytes": self.size_bytes,
        }
