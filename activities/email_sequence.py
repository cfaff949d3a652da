"""Email tick activities: record the tick in `job_runs`, then send due steps batch by batch."""

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from conveyor.constants import JobName, JobStatus
from conveyor.db import SessionMaker
from conveyor.email.dispatch import BatchDispatcher
from conveyor.email.payloads import (
    SYSTEM_ORG,
    SYSTEM_USER,
    SendDueInput,
    StartTickInput,
    TickResult,
)
from conveyor.email.signing import SigningNotConfigured
from conveyor.email.smtp import SmtpNotConfigured, SmtpSender
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.payloads import JobRef
from conveyor.jobs.progress import ProgressReporter
from conveyor.models import JobRun
from conveyor.settings import Settings

SMTP_DEFERRED = "SmtpDeferred"
EMAIL_NOT_CONFIGURED = "EmailNotConfigured"


class EmailSequenceActivities:
    def __init__(self, session_maker: SessionMaker, settings: Settings) -> None:
        self._session_maker = session_maker
        self._mirror = JobRunMirror(session_maker)
        self._dispatcher = BatchDispatcher(session_maker, settings, SmtpSender(settings))

    @activity.defn
    async def start_tick(self, request: StartTickInput) -> JobRef:
        """Writes the tick's `job_runs` row (RUNNING), keyed by its workflow id; idempotent."""
        async with self._session_maker.begin() as session:
            await session.execute(
                insert(JobRun)
                .values(
                    job_id=request.job_id,
                    run_id=request.run_id,
                    job_name=JobName.EMAIL_TICK.value,
                    task_queue=request.task_queue,
                    status=JobStatus.RUNNING.value,
                    org_id=SYSTEM_ORG,
                    user_id=SYSTEM_USER,
                    entity_type=JobName.EMAIL_TICK.value,
                    entity_id=request.job_id,
                    payload={},
                    payload_hash="",
                    dedupe_key=request.job_id,
                    attempt=1,
                    started_at=func.now(),
                )
                .on_conflict_do_nothing(index_elements=[JobRun.job_id])
            )
            run_id = await session.scalar(select(JobRun.id).where(JobRun.job_id == request.job_id))
        assert run_id is not None
        return JobRef(
            str(run_id), request.job_id, JobName.EMAIL_TICK.value, SYSTEM_ORG, SYSTEM_USER
        )

    @activity.defn
    async def send_due_steps(self, request: SendDueInput) -> TickResult:
        """Sends due steps in batches; raises a retryable error when SMTP deferred some.

        What was sent stays sent and what was deferred is released, so the
        retry (or the next tick) picks up exactly the rest.
        """
        await self._mirror.attempt_started(request.job.job_run_id, activity.info().attempt)
        try:
            async with ProgressReporter(self._mirror, request.job.job_run_id):
                outcome = await self._dispatcher.run(
                    request.lease_token, request.batch_size, request.max_batches
                )
        except (SmtpNotConfigured, SigningNotConfigured) as err:
            raise ApplicationError(str(err), type=EMAIL_NOT_CONFIGURED, non_retryable=True) from err
        if outcome.deferred:
            count = f"{len(outcome.deferred)} of {outcome.claimed}"
            raise ApplicationError(
                f"{count} emails deferred: {outcome.deferred[0]}", type=SMTP_DEFERRED
            )
        return TickResult(
            claimed=outcome.claimed, sent=outcome.sent, bounced=outcome.bounced,
            stopped=outcome.stopped, completed=outcome.completed, batches=outcome.batches,
        )  # fmt: skip
