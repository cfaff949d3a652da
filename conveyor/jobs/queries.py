"""Reading and cancelling job runs, always within the caller's org."""

import base64
import uuid
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from conveyor.auth import Principal
from conveyor.constants import TERMINAL_STATUSES, JobStatus
from conveyor.errors import BadRequest, Conflict
from conveyor.jobs.mirror import JobRunMirror, job_ref
from conveyor.jobs.payloads import FinishJobInput
from conveyor.models import JobRun
from conveyor.tenancy import get_owned


async def get_run(session: AsyncSession, principal: Principal, job_run_id: uuid.UUID) -> JobRun:
    return await get_owned(session, JobRun, job_run_id, principal, "job run")


async def list_runs(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    job_name: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[JobRun], str | None]:
    """Newest first, keyset-paginated so pages stay stable while jobs are added."""
    query = select(JobRun).where(JobRun.org_id == principal.org_id)
    if status:
        if status.upper() not in JobStatus.__members__:
            raise BadRequest(f"unknown status {status!r}; allowed: {', '.join(JobStatus)}")
        query = query.where(JobRun.status == status.upper())
    if job_name:
        query = query.where(JobRun.job_name == job_name)
    if cursor:
        queued_at, run_id = _decode_cursor(cursor)
        query = query.where(tuple_(JobRun.queued_at, JobRun.id) < tuple_(queued_at, run_id))
    rows = list(
        await session.scalars(
            query.order_by(JobRun.queued_at.desc(), JobRun.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def cancel_run(
    session: AsyncSession, temporal: Client, mirror: JobRunMirror, run: JobRun
) -> None:
    """Asks Temporal to cancel; the workflow then mirrors CANCELLED itself."""
    if run.status in TERMINAL_STATUSES:
        raise Conflict(f"job run {run.id} already ended as {run.status}", status=run.status)
    try:
        await temporal.get_workflow_handle(run.job_id).cancel()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        # No workflow was ever started for it: nothing to stop but the row.
        await mirror.finish(
            FinishJobInput(
                job=job_ref(run), status=JobStatus.CANCELLED, error="cancelled on request"
            )
        )
    await session.refresh(run)


def _encode_cursor(run: JobRun) -> str:
    return base64.urlsafe_b64encode(f"{run.queued_at.isoformat()}|{run.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        queued_at, run_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(queued_at), uuid.UUID(run_id)
    except ValueError as err:
        raise BadRequest("invalid cursor: pass nextCursor from the previous page") from err
