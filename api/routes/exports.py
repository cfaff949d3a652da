"""Async exports: start one (GET shortcut or POST with filters), read its row."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import CorrelationId, CurrentPrincipal, IdempotencyKey, SessionDep, SubmitterDep
from api.schemas import ExportJobOut, JobAccepted
from conveyor.errors import NotFound
from conveyor.exports.service import EXPORT_JOB, ExportRequest, get_export_job
from conveyor.jobs.submit import JobRequest

router = APIRouter(prefix="/api", tags=["exports"])


async def _start(
    request: ExportRequest,
    submitter: SubmitterDep,
    principal: CurrentPrincipal,
    idempotency_key: str | None,
    correlation_id: str,
    response: Response,
) -> dict[str, Any]:
    submission = await submitter.submit(
        EXPORT_JOB,
        JobRequest(principal, request, idempotency_key, correlation_id),
    )
    if not submission.created:
        response.headers["Idempotent-Replayed"] = "true"
    return {"exportJobId": submission.run.entity_id, **JobAccepted.of(submission)}


@router.get("/export/async", status_code=202)
async def start_export_by_query(
    submitter: SubmitterDep,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
    response: Response,
    entity: Annotated[str, Query(description="What to export, e.g. sessions")],
    format: Annotated[str, Query(description="csv or ndjson")] = "csv",
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    request = ExportRequest(entity=entity, format=format)
    return await _start(request, submitter, principal, idempotency_key, correlation_id, response)


@router.post("/exports", status_code=202)
async def start_export(
    request: ExportRequest,
    submitter: SubmitterDep,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    return await _start(request, submitter, principal, idempotency_key, correlation_id, response)


@router.get("/exports/{export_job_id}")
async def read_export(
    export_job_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> ExportJobOut:
    export = await get_export_job(session, principal, export_job_id)
    if export is None:
        raise NotFound(f"export {export_job_id} not found")
    return ExportJobOut.of(export)
