"""Starting a job from a route: the same 202 body and headers for every kind."""

from typing import Any

from fastapi import Response
from pydantic import BaseModel

from api.schemas import JobAccepted
from conveyor.auth import Principal
from conveyor.jobs.kinds import JobKind
from conveyor.jobs.submit import JobRequest, JobSubmitter


async def accept_job(
    submitter: JobSubmitter,
    kind: JobKind,
    payload: BaseModel,
    principal: Principal,
    idempotency_key: str | None,
    correlation_id: str,
    response: Response,
    entity_field: str,
) -> dict[str, Any]:
    """Submits the job; the body names its domain row as `entity_field`."""
    submission = await submitter.submit(
        kind, JobRequest(principal, payload, idempotency_key, correlation_id)
    )
    if not submission.created:
        response.headers["Idempotent-Replayed"] = "true"
    return {entity_field: submission.run.entity_id, **JobAccepted.of(submission)}
