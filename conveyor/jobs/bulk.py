"""Operators' bulk actions: replay dead letters, cancel runs, chosen by a filter."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from conveyor.auth import Principal
from conveyor.constants import TERMINAL_STATUSES
from conveyor.errors import ConveyorError
from conveyor.jobs.dead_letters import replay
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.queries import cancel_run
from conveyor.jobs.submit import JobSubmitter
from conveyor.models import DeadLetter, JobRun


@dataclass(frozen=True)
class BulkFilter:
    """Which rows a bulk action takes; every bound is optional, `limit` is not."""

    job_name: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    error_contains: str | None = None
    limit: int = 100


@dataclass
class BulkOutcome:
    matched: int = 0
    succeeded: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


def _dead_letters(principal: Principal, where: BulkFilter) -> Select[DeadLetter]:
    query = select(DeadLetter).where(
        DeadLetter.org_id == principal.org_id, DeadLetter.replayed_job_id.is_(None)
    )
    if where.job_name:
        query = query.where(DeadLetter.job_name == where.job_name)
    if where.after:
        query = query.where(DeadLetter.failed_at >= where.after)
    if where.before:
        query = query.where(DeadLetter.failed_at < where.before)
    if where.error_contains:
        query = query.where(DeadLetter.error.icontains(where.error_contains, autoescape=True))
    return query.order_by(DeadLetter.failed_at, DeadLetter.id).limit(where.limit)


def _active_runs(principal: Principal, where: BulkFilter) -> Select[JobRun]:
    query = select(JobRun).where(
        JobRun.org_id == principal.org_id,
        JobRun.status.not_in([status.value for status in TERMINAL_STATUSES]),
    )
    if where.job_name:
        query = query.where(JobRun.job_name == where.job_name)
    if where.after:
        query = query.where(JobRun.queued_at >= where.after)
    if where.before:
        query = query.where(JobRun.queued_at < where.before)
    if where.error_contains:
        query = query.where(JobRun.error.icontains(where.error_contains, autoescape=True))
    return query.order_by(JobRun.queued_at, JobRun.id).limit(where.limit)


async def replay_dead_letters(
    submitter: JobSubmitter, principal: Principal, where: BulkFilter, correlation_id: str
) -> BulkOutcome:
    """Replays each matching letter on its own, so one refusal stops none of the others."""
    session = submitter.session
    letters = list(await session.scalars(_dead_letters(principal, where)))
    outcome = BulkOutcome(matched=len(letters))
    for letter in letters:
        try:
            submission = await replay(submitter, letter, principal, None, correlation_id)
            await session.commit()
        except ConveyorError as err:
            await session.rollback()
            outcome.failed.append({"deadLetterId": str(letter.id), "error": err.message})
            continue
        outcome.succeeded.append(
            {"deadLetterId": str(letter.id), "jobRunId": str(submission.run.id)}
        )
    return outcome


async def cancel_runs(
    session: AsyncSession,
    temporal: Client,
    mirror: JobRunMirror,
    principal: Principal,
    where: BulkFilter,
) -> BulkOutcome:
    runs = list(await session.scalars(_active_runs(principal, where)))
    outcome = BulkOutcome(matched=len(runs))
    for run in runs:
        try:
            await cancel_run(session, temporal, mirror, run)
        except Exception as err:
            outcome.failed.append({"jobRunId": str(run.id), "error": str(err)})
            continue
        outcome.succeeded.append({"jobRunId": str(run.id)})
    return outcome


def as_body(outcome: BulkOutcome, verb: str) -> dict[str, Any]:
    return {"matched": outcome.matched, verb: outcome.succeeded, "failed": outcome.failed}
