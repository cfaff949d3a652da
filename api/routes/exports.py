"""Async exports: start one (GET shortcut or POST with filters), read its row."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import CorrelationId, CurrentPrincipal, IdempotencyKey, SessionDep, SubmitterDep
from api.jobs import accept_job
from api.schemas import ExportJobOut
from conveyor.exports.service import EXPORT_JOB, ExportRequest
from conveyor.models import ExportJob
from conveyor.tenancy import get_owned

router = APIRouter(prefix="/api", tags=["exports"])


async def _start(
    request: ExportRequest,
    submitter: SubmitterDep,
    principal: CurrentPrincipal,
    idempotency_key: str | None,
    correlation_id: str,
    response: Response,
) -> dict[str, Any]:
    return await accept_job(
        submitter, EXPORT_JOB, request, principal, idempotency_key, correlation_id, response,
        entity_field="exportJobId",
    )  # fmt: skip


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
    return ExportJobOut.of(await get_owned(session, ExportJob, export_job_id, principal, "export"))
