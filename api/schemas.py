"""Response bodies, camelCased on the wire."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from conveyor.jobs.bulk import BulkFilter
from conveyor.jobs.submit import Submission
from conveyor.models import (
    AiTask,
    DeadLetter,
    Document,
    ExportJob,
    FileObject,
    JobRun,
)


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class JobAccepted(Schema):
    job_run_id: uuid.UUID
    job_id: str
    status: str
    poll_url: str
    created: bool

    @classmethod
    def of(cls, submission: Submission) -> dict[str, Any]:
        run = submission.run
        body = cls(
            job_run_id=run.id,
            job_id=run.job_id,
            status=run.status,
            poll_url=f"/api/job-runs/{run.id}",
            created=submission.created,
        )
        return body.model_dump(by_alias=True, mode="json")


class JobRunOut(Schema):
    id: uuid.UUID
    job_id: str
    run_id: str | None
    job_name: str
    status: str
    progress: int
    attempt: int
    user_id: str
    entity_type: str
    entity_id: str
    error: str | None
    result: dict[str, Any] | None
    correlation_id: str | None
    replay_of: uuid.UUID | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, run: JobRun) -> "JobRunOut":
        return cls.model_validate(run)


class JobRunPage(Schema):
    items: list[JobRunOut]
    next_cursor: str | None = None


class ExportJobOut(Schema):
    id: uuid.UUID
    entity: str
    format: str
    filters: dict[str, Any]
    status: str
    row_count: int | None
    file_object_id: uuid.UUID | None
    download_url: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, export: ExportJob) -> "ExportJobOut":
        out = cls.model_validate(export)
        if export.file_object_id is not None:
            out.download_url = f"/api/file-objects/{export.file_object_id}/download"
        return out


class FileObjectOut(Schema):
    id: uuid.UUID
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime

    @classmethod
    def of(cls, file: FileObject) -> "FileObjectOut":
        return cls.model_validate(file)


class AiTaskOut(Schema):
    id: uuid.UUID
    job_run_id: uuid.UUID | None = None
    type: str
    status: str
    model: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    tokens_in: int
    tokens_out: int
    cost_cents: Decimal
    calls: int
    price_version: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, task: AiTask, job_run_id: uuid.UUID | None = None) -> "AiTaskOut":
        out = cls.model_validate(task)
        out.job_run_id = job_run_id
        return out


class DocumentOut(Schema):
    id: uuid.UUID
    source: str
    file_object_id: uuid.UUID
    filename: str | None
    mime_type: str
    status: str
    page_count: int | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, document: Document) -> "DocumentOut":
        return cls.model_validate(document)


class DocumentPageOut(Schema):
    page_number: int
    text: str
    method: str
    confidence: float | None


class DocumentArtifactOut(Schema):
    type: str
    content: str | None
    file_object_id: uuid.UUID | None
    created_at: datetime


class DeadLetterOut(Schema):
    id: uuid.UUID
    job_run_id: uuid.UUID
    job_id: str
    job_name: str
    payload: dict[str, Any]
    error: str
    attempts: int
    failed_at: datetime
    replayed_job_id: str | None

    @classmethod
    def of(cls, dead_letter: DeadLetter) -> "DeadLetterOut":
        return cls.model_validate(dead_letter)


class BulkFilterIn(Schema):
    """Which rows a bulk action takes: all of the caller's that match every bound given."""

    model_config = ConfigDict(extra="forbid")

    job_name: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    error_contains: str | None = None
    limit: int = Field(100, ge=1, le=1000)

    def to_filter(self) -> BulkFilter:
        return BulkFilter(**self.model_dump())


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any] | None = None
