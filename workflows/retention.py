"""The retention workflow, run by a Schedule: removes what is past its kind's retention."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities
    from conveyor.constants import JobName
    from conveyor.jobs.payloads import JobRef, RetrySpec
    from conveyor.maintenance.payloads import RetentionInput, RetentionResult

from workflows.lifecycle import job_activity_options, run_scheduled_job

# A purge is safe to repeat, so it retries patiently; each batch heartbeats.
_RETRY = RetrySpec(max_attempts=5, initial_interval_seconds=10, heartbeat_timeout_seconds=60)


@workflow.defn(name=JobName.RETENTION.value)
class RetentionWorkflow:
    @workflow.run
    async def run(self) -> RetentionResult:
        return await run_scheduled_job(
            JobName.RETENTION.value, self._purge, RetentionResult.summary
        )

    async def _purge(self, job: JobRef) -> RetentionResult:
        return await workflow.execute_activity_method(
            RetentionActivities.purge_expired,
            RetentionInput(job),
            **job_activity_options(_RETRY, timedelta(hours=2)),
        )
