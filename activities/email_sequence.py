"""Email tick activity: send due steps batch by batch."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from conveyor.db import SessionMaker
from conveyor.email.dispatch import BatchDispatcher
from conveyor.email.payloads import SendDueInput, TickResult
from conveyor.email.signing import SigningNotConfigured
from conveyor.email.smtp import SmtpNotConfigured, SmtpSender
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.progress import ProgressReporter
from conveyor.settings import Settings

SMTP_DEFERRED = "SmtpDeferred"
EMAIL_NOT_CONFIGURED = "EmailNotConfigured"


class EmailSequenceActivities:
    def __init__(self, session_maker: SessionMaker, settings: Settings) -> None:
        self._session_maker = session_maker
        self._mirror = JobRunMirror(session_maker)
        self._dispatcher = BatchDispatcher(session_maker, settings, SmtpSender(settings))

    @activity.defn
    async def send_due_steps(self, request: SendDueInput) -> TickResult:
        """Sends due steps in batches; raises a retryable error when SMTP deferred some.

        What was sent stays sent and what was deferred is released, so the
        retry (or the next tick) picks up exactly the rest.
        """
        await self._mirror.attempt_started(request.job.job_run_id, activity.info())
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
