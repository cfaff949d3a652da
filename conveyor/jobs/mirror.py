"""Writes a job's transitions into `job_runs`, its domain row and `dead_letters`.

Every write is guarded so a late or repeated one (an activity retried after a
crash, a heartbeat racing the end) can never move a finished run backwards.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from conveyor.constants import SYSTEM_ORG, SYSTEM_USER, TERMINAL_STATUSES, JobStatus
from conveyor.db import SessionMaker
from conveyor.jobs.entities import sync_entity
from conveyor.jobs.payloads import FinishJobInput, JobRef, SystemRunInput
from conveyor.models import DeadLetter, JobRun
from conveyor.prometheus import job_finished, job_started

_NOT_FINISHED = JobRun.status.not_in([s.value for s in TERMINAL_STATUSES])


class JobRunMirror:
    """The `job_runs` side of the lifecycle, for activities to call."""

    def __init__(self, session_maker: SessionMaker) -> None:
        self._session_maker = session_maker

    async def attempt_started(self, job_run_id: str, info: activity.Info) -> None:
        """RUNNING with this attempt; also the Temporal run id, first known here."""
        async with self.starting_attempt(job_run_id, info):
            pass

    @contextlib.asynccontextmanager
    async def starting_attempt(
        self, job_run_id: str, info: activity.Info
    ) -> AsyncIterator[AsyncSession]:
        """`attempt_started`, in a transaction the activity can read its own rows in.

        Keep the block to reads: an exception in it rolls the RUNNING write back.
        """
        async with self._session_maker.begin() as session:
            row = (
                await session.execute(
                    update(JobRun)
                    .where(JobRun.id == uuid.UUID(job_run_id), _NOT_FINISHED)
                    .values(
                        status=JobStatus.RUNNING.value,
                        # A new attempt starts over: its bar too (a late
                        # retry of an older attempt leaves it alone).
                        progress=case((JobRun.attempt < info.attempt, 0), else_=JobRun.progress),
                        attempt=func.greatest(JobRun.attempt, info.attempt),
                        run_id=func.coalesce(JobRun.run_id, info.workflow_run_id),
                        started_at=func.coalesce(JobRun.started_at, func.now()),
                    )
                    # now() is the transaction's time: equal only if this call set it.
                    .returning(JobRun, JobRun.started_at == func.now())
                )
            ).first()
            if row is not None:
                await sync_entity(session, row[0])
            yield session
        if row is not None and row[1] and row[0].started_at is not None:
            job_started(row[0].job_name, row[0].queued_at, row[0].started_at)

    async def progress(self, job_run_id: str, percent: int) -> None:
        async with self._session_maker.begin() as session:
            await session.execute(
                update(JobRun)
                .where(JobRun.id == uuid.UUID(job_run_id), _NOT_FINISHED)
                .values(progress=max(0, min(100, percent)))
            )

    async def start_system_run(self, request: SystemRunInput) -> JobRef:
        """Records a scheduled workflow's run as RUNNING, keyed by its workflow id.

        Such runs are not submitted through the API, so they have no row yet;
        a retried call finds the row it wrote and returns the same reference.
        """
        async with self._session_maker.begin() as session:
            inserted = await session.execute(
                insert(JobRun)
                .values(
                    job_id=request.job_id,
                    run_id=request.run_id,
                    job_name=request.job_name,
                    task_queue=request.task_queue,
                    status=JobStatus.RUNNING.value,
                    org_id=SYSTEM_ORG,
                    user_id=SYSTEM_USER,
                    entity_type=request.job_name,
                    entity_id=request.job_id,
                    payload={},
                    payload_hash="",
                    dedupe_key=request.job_id,
                    attempt=1,
                    started_at=func.now(),
                )
                .on_conflict_do_nothing(index_elements=[JobRun.job_id])
                .returning(JobRun.queued_at, JobRun.started_at)
            )
            first_start = inserted.first()
            run_id = await session.scalar(select(JobRun.id).where(JobRun.job_id == request.job_id))
        assert run_id is not None
        if first_start is not None:
            job_started(request.job_name, first_start.queued_at, first_start.started_at)
        return JobRef(str(run_id), request.job_id, request.job_name, SYSTEM_ORG, SYSTEM_USER)

    async def finish(self, finish: FinishJobInput) -> bool:
        """Records the end of a job; returns False when it had already ended."""
        async with self._session_maker.begin() as session:
            run = await finish_run(session, finish)
        if run is None:
            return False
        job_finished(run.job_name, finish.status, run.started_at, run.finished_at)
        return True


async def finish_run(session: AsyncSession, finish: FinishJobInput) -> JobRun | None:
    """The end of a job in `session`: the run, its domain row, a dead letter if it failed.

    Returns None when the run had already ended.
    """
    run = await session.scalar(
        update(JobRun)
        .where(JobRun.id == uuid.UUID(finish.job.job_run_id), _NOT_FINISHED)
        .values(_finish_values(finish))
        .returning(JobRun)
    )
    if run is not None:
        await sync_entity(session, run)
        if finish.status == JobStatus.FAILED:
            await _dead_letter(session, run)
    return run


def job_ref(run: JobRun) -> JobRef:
    """How workflows and activities name this run."""
    return JobRef(
        job_run_id=str(run.id),
        job_id=run.job_id,
        job_name=run.job_name,
        org_id=run.org_id,
        user_id=run.user_id,
        correlation_id=run.correlation_id,
    )


def _finish_values(finish: FinishJobInput) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": finish.status,
        "finished_at": func.now(),
        "error": finish.error,
        "result": finish.result or None,
    }
    if finish.status == JobStatus.COMPLETED:
        values["progress"] = 100
    return values


async def _dead_letter(session: AsyncSession, run: JobRun) -> None:
    await session.execute(
        insert(DeadLetter)
        .values(
            org_id=run.org_id,
            job_run_id=run.id,
            job_id=run.job_id,
            job_name=run.job_name,
            payload=run.payload,
            error=run.error or "failed",
            attempts=max(run.attempt, 1),
        )
        .on_conflict_do_nothing(index_elements=[DeadLetter.job_run_id])
    )
