"""What a job kind tells the shared lifecycle about itself."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.auth import Principal
from conveyor.constants import JobName, TaskQueue
from conveyor.jobs.payloads import JobRef, RetrySpec
from conveyor.settings import Settings

CreateEntity = Callable[[AsyncSession, Principal, uuid.UUID, Any], Awaitable[None]]
BuildInput = Callable[[JobRef, RetrySpec, uuid.UUID, Any], Any]
Admit = Callable[[AsyncSession, Settings, Principal, Any], Awaitable[None]]
ExistingEntity = Callable[[Any], uuid.UUID]


@dataclass(frozen=True)
class JobKind:
    """One kind of job. Its workflow is registered under `name` as its workflow type.

    Attributes:
        payload_model: validates what a client (or an edited replay) submits.
        create_entity: inserts the kind's domain row with the given id (or, for
            a kind that works on an existing row, marks that row queued).
        build_input: the workflow's input from the job, its retry policy and payload.
        admit: checks that need configuration or the database (quotas, limits)
            before a new job is created; raises a ConveyorError to refuse it.
        existing_entity: for a kind whose domain row exists before the job
            (a document to ingest), that row's id from the payload.
    """

    name: JobName
    task_queue: TaskQueue
    entity_type: str
    payload_model: type[BaseModel]
    default_max_attempts: int
    create_entity: CreateEntity
    build_input: BuildInput
    admit: Admit | None = None
    existing_entity: ExistingEntity | None = None

    def entity_id_for(self, payload: Any) -> uuid.UUID:
        return self.existing_entity(payload) if self.existing_entity else uuid.uuid4()

    def parse_payload(self, payload: dict[str, Any]) -> BaseModel:
        return self.payload_model.model_validate(payload)
