"""The email tick: one run of the schedule, sending due steps batch by batch.

The tick records itself in `job_runs` first (under the reserved `system`
org, keyed by its workflow id), then runs its batches inside the shared
lifecycle, which mirrors how it ended. A tick whose retries run out ends
FAILED (and dead-lettered under `system`, like any job); nothing needs
replaying, as the next tick takes whatever is still due.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.email_sequence import EmailSequenceActivities
    from conveyor.constants import JobName
    from conveyor.email.payloads import EmailTickInput, SendDueInput, StartTickInput, TickResult
    from conveyor.jobs.payloads import JobRef

from workflows.lifecycle import job_activity_options, run_job


@workflow.defn(name=JobName.EMAIL_TICK.value)
class EmailTickWorkflow:
    @workflow.run
    async def run(self, request: EmailTickInput) -> TickResult:
        info = workflow.info()
        job = await workflow.execute_activity_method(
            EmailSequenceActivities.start_tick,
            StartTickInput(job_id=info.workflow_id, run_id=info.run_id, task_queue=info.task_queue),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=0),
        )
        return await run_job(job, lambda: self._send(job, request), TickResult.summary)

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
