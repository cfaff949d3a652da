"""Async exports: start one (GET shortcut or POST with filters), read its row."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CurrentPrincipal, SessionDep
from api.jobs import JobIntakeDep
from api.schemas import ExportJobOut
from conveyor.exports.service import EXPORT_JOB, ExportRequest
from conveyor.models import ExportJob
from conveyor.tenancy import get_owned

router = APIRouter(prefix="/api", tags=["exports"])


@router.get("/export/async", status_code=202)
async def start_export_by_query(
    intake: JobIntakeDep,
    entity: Annotated[str, Query(description="What to export, e.g. sessions")],
    format: Annotated[str, Query(description="csv or ndjson")] = "csv",
) -> dict[str, Any]:
    request = ExportRequest(entity=entity, format=format)
    return await intake.accept(EXPORT_JOB, request, entity_field="exportJobId")


@router.post("/exports", status_code=202)
async def start_export(request: ExportRequest, intake: JobIntakeDep) -> dict[str, Any]:
    return await intake.accept(EXPORT_JOB, request, entity_field="exportJobId")


@router.get("/exports/{export_job_id}")
async def read_export(
    export_job_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> ExportJobOut:
    return ExportJobOut.of(await get_owned(session, ExportJob, export_job_id, principal, "export"))
