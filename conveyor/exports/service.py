"""The export job kind: request validation, its domain row, its workflow input."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.auth import Principal
from conveyor.constants import JobName, TaskQueue
from conveyor.exports.payloads import ExportWorkflowInput
from conveyor.exports.registry import ENTITIES, FORMATS, allowed
from conveyor.jobs.kinds import JobKind
from conveyor.jobs.payloads import JobRef, RetrySpec
from conveyor.models import ExportJob


class ExportFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    since: datetime | None = Field(None, alias="from", description="Inclusive lower bound.")
    until: datetime | None = Field(None, alias="to", description="Exclusive upper bound.")

    @model_validator(mode="after")
    def _ordered(self) -> "ExportFilters":
        if self.since and self.until and self.since >= self.until:
            raise ValueError("filters.from must be before filters.to")
        return self


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str
    format: str = "csv"
    filters: ExportFilters = Field(default_factory=ExportFilters)

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, entity: str) -> str:
        if entity not in ENTITIES:
            raise ValueError(f"unknown entity {entity!r}; allowed: {allowed(ENTITIES)}")
        return entity

    @field_validator("format")
    @classmethod
    def _known_format(cls, fmt: str) -> str:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; allowed: {allowed(FORMATS)}")
        return fmt


async def _create_export_job(
    session: AsyncSession, principal: Principal, entity_id: uuid.UUID, request: ExportRequest
) -> None:
    session.add(
        ExportJob(
            id=entity_id,
            org_id=principal.org_id,
            user_id=principal.user_id,
            entity=request.entity,
            format=request.format,
            filters=request.filters.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
    )
    await session.flush()


def _workflow_input(
    job: JobRef, retry: RetrySpec, entity_id: uuid.UUID, request: ExportRequest
) -> ExportWorkflowInput:
    return ExportWorkflowInput(
        job=job,
        retry=retry,
        export_job_id=str(entity_id),
        entity=request.entity,
        format=request.format,
        filters=request.filters.model_dump(mode="json", by_alias=True, exclude_none=True),
    )


EXPORT_JOB = JobKind(
    name=JobName.EXPORT,
    task_queue=TaskQueue.EXPORTS,
    entity_type="export_job",
    payload_model=ExportRequest,
    default_max_attempts=5,
    create_entity=_create_export_job,
    build_input=_workflow_input,
)
