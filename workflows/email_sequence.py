"""The email tick: one run of the schedule, sending due steps batch by batch.

The tick records itself in `job_runs` first (under the reserved `system`
org, keyed by its workflow id), then runs its batches inside the shared
lifecycle, which mirrors how it ended. A tick whose retries run out ends
FAILED (and dead-lettered under `system`, like any job); nothing needs
replaying, as the next tick takes whatever is still due.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.email_sequence import EmailSequenceActivities
    from conveyor.constants import JobName
    from conveyor.email.payloads import EmailTickInput, SendDueInput, TickResult
    from conveyor.jobs.payloads import JobRef

from workflows.lifecycle import job_activity_options, run_scheduled_job


@workflow.defn(name=JobName.EMAIL_TICK.value)
class EmailTickWorkflow:
    @workflow.run
    async def run(self, request: EmailTickInput) -> TickResult:
        return await run_scheduled_job(
            JobName.EMAIL_TICK.value, lambda job: self._send(job, request), TickResult.summary
        )

    async def _send(self, job: JobRef, request: EmailTickInput) -> TickResult:
        result: TickResult = await workflow.execute_activity_method(
            EmailSequenceActivities.send_due_steps,
            SendDueInput(
                job=job,
                batch_size=request.batch_size,
                max_batches=request.max_batches,
                lease_token=job.job_id,
            ),
            **job_activity_options(request.retry, timedelta(hours=1)),
        )
        return result
