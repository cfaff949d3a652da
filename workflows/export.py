"""The export workflow: one activity streams the export; the lifecycle mirrors it."""

from datetime import timedelta

from temporalio import workflow
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.export import ExportActivities
    from conveyor.constants import JobName
    from conveyor.exports.payloads import ExportActivityInput, ExportResult, ExportWorkflowInput
    from conveyor.jobs.errors import NON_RETRYABLE_ERRORS

from workflows.lifecycle import run_job


@workflow.defn(name=JobName.EXPORT.value)
class ExportWorkflow:
    @workflow.run
    async def run(self, request: ExportWorkflowInput) -> ExportResult:
        return await run_job(request.job, lambda: self._stream(request), ExportResult.summary)

    async def _stream(self, request: ExportWorkflowInput) -> ExportResult:
        return await workflow.execute_activity_method(
            ExportActivities.stream_export,
            ExportActivityInput(
                job=request.job,
                export_job_id=request.export_job_id,
                entity=request.entity,
                format=request.format,
                filters=request.filters,
            ),
            start_to_close_timeout=timedelta(hours=6),
            heartbeat_timeout=request.retry.heartbeat_timeout,
            retry_policy=request.retry.policy(NON_RETRYABLE_ERRORS),
            # The activity aborts its multipart upload before the workflow moves on.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
