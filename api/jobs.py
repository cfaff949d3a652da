"""Starting a job from a route: the same inputs, 202 body and headers for every kind."""

import dataclasses
from typing import Annotated, Any

from fastapi import Depends, Response
from pydantic import BaseModel

from api.deps import CorrelationId, CurrentPrincipal, IdempotencyKey, SubmitterDep
from api.schemas import JobAccepted
from conveyor.auth import Principal
from conveyor.jobs.kinds import JobKind
from conveyor.jobs.submit import JobRequest, JobSubmitter


@dataclasses.dataclass(frozen=True)
class JobIntake:
    """What a request brings to starting a job: who asks, its correlation id,
    its Idempotency-Key, and the response that reports a replay."""

    submitter: JobSubmitter
    principal: Principal
    correlation_id: str
    idempotency_key: str | None
    response: Response

    async def accept(self, kind: JobKind, payload: BaseModel, entity_field: str) -> dict[str, Any]:
        """Submits the job; the body names its domain row as `entity_field`."""
        submission = await self.submitter.submit(
            kind, JobRequest(self.principal, payload, self.idempotency_key, self.correlation_id)
        )
        if not submission.created:
            self.response.headers["Idempotent-Replayed"] = "true"
        return {entity_field: submission.run.entity_id, **JobAccepted.of(submission)}


async def job_intake(
    submitter: SubmitterDep,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JobIntake:
    return JobIntake(submitter, principal, correlation_id, idempotency_key, response)


JobIntakeDep = Annotated[JobIntake, Depends(job_intake)]
