"""Job runs: status, listing, cancellation. The poll URL of every job kind."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import CurrentPrincipal, SessionDep, TemporalDep
from api.schemas import JobRunOut, JobRunPage
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.queries import cancel_run, get_run, list_runs

router = APIRouter(prefix="/api/job-runs", tags=["job runs"])


@router.get("/{job_run_id}")
async def read_job_run(
    job_run_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> JobRunOut:
    return JobRunOut.of(await get_run(session, principal, job_run_id))


@router.get("")
async def list_job_runs(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(description="QUEUED, RUNNING, COMPLETED, ...")] = None,
    job_name: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> JobRunPage:
    runs, next_cursor = await list_runs(
        session, principal, status=status, job_name=job_name, limit=limit, cursor=cursor
    )
    return JobRunPage(items=[JobRunOut.of(run) for run in runs], next_cursor=next_cursor)


@router.post("/{job_run_id}/cancel", status_code=202)
async def cancel_job_run(
    job_run_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    temporal: TemporalDep,
) -> JobRunOut:
    run = await get_run(session, principal, job_run_id)
    await cancel_run(session, temporal, JobRunMirror(request.app.state.session_maker), run)
    return JobRunOut.of(run)
