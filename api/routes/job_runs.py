"""Job runs: status, listing, cancellation. The poll URL of every job kind."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import CurrentPrincipal, SessionDep, TemporalDep
from api.schemas import BulkFilterIn, JobRunOut, JobRunPage
from conveyor.auth import Principal
from conveyor.constants import TERMINAL_STATUSES
from conveyor.db import SessionMaker
from conveyor.jobs.bulk import as_body, cancel_runs
from conveyor.jobs.events import JobRunEvents
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.queries import cancel_run, get_run, list_runs

router = APIRouter(prefix="/api/job-runs", tags=["job runs"])


@router.get("/{job_run_id}")
async def read_job_run(
    job_run_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> JobRunOut:
    return JobRunOut.of(await get_run(session, principal, job_run_id))


# A comment line now and then keeps proxies from closing a quiet stream, and
# re-reads the run: a safety net should a notification ever be lost.
_KEEPALIVE_SECONDS = 15.0


@router.get("/{job_run_id}/events", response_class=StreamingResponse)
async def stream_job_run(
    job_run_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Server-Sent Events: one `job_run` event per change, an `end` event, then close.

    Event ids name the state (`attempt-status-progress`); a client that
    reconnects with `Last-Event-ID` gets the current state unless it already
    had it, so it never misses the final one. Reconnecting after the final
    event gets 204, which tells an EventSource to stop reconnecting.
    """
    run = await get_run(session, principal, job_run_id)
    if run.status in TERMINAL_STATUSES and last_event_id == _event_id(JobRunOut.of(run)):
        return Response(status_code=204)
    events = _job_run_events(request, principal, job_run_id, last_event_id)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _job_run_events(
    request: Request, principal: Principal, job_run_id: uuid.UUID, last_event_id: str | None
) -> AsyncIterator[str]:
    hub: JobRunEvents = request.app.state.job_run_events
    session_maker: SessionMaker = request.app.state.session_maker
    # Subscribed before the first read, so no change can slip in between.
    async with hub.subscribe(str(job_run_id)) as changed:
        while True:
            async with session_maker() as session:
                run = JobRunOut.of(await get_run(session, principal, job_run_id))
            event_id = _event_id(run)
            finished = run.status in TERMINAL_STATUSES
            if event_id != last_event_id:
                yield _sse("end" if finished else "job_run", event_id, run)
                last_event_id = event_id
            if finished:
                return
            try:
                await asyncio.wait_for(changed.get(), _KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"


def _event_id(run: JobRunOut) -> str:
    return f"{run.attempt}-{run.status}-{run.progress}"


def _sse(event: str, event_id: str, run: JobRunOut) -> str:
    data = run.model_dump_json(by_alias=True)
    return f"event: {event}\nid: {event_id}\ndata: {data}\n\n"


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


@router.post("/cancel")
async def cancel_many(
    where: BulkFilterIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    temporal: TemporalDep,
) -> dict[str, Any]:
    """Asks every matching queued or running job to cancel; says which could not."""
    mirror = JobRunMirror(request.app.state.session_maker)
    outcome = await cancel_runs(session, temporal, mirror, principal, where.to_filter())
    return as_body(outcome, "cancelled")


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
