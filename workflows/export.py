"""The export workflow: one activity streams the export; the lifecycle mirrors it."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.export import ExportActivities
    from conveyor.constants import JobName
    from conveyor.exports.payloads import ExportActivityInput, ExportResult, ExportWorkflowInput

from workflows.lifecycle import execute_job_activity, run_job


@workflow.defn(name=JobName.EXPORT.value)
class ExportWorkflow:
    @workflow.run
    async def run(self, request: ExportWorkflowInput) -> ExportResult:
        return await run_job(request.job, lambda: self._stream(request), ExportResult.summary)

    async def _stream(self, request: ExportWorkflowInput) -> ExportResult:
        # The activity aborts its multipart upload before a cancelled workflow moves on.
        return await execute_job_activity(
            ExportActivities.stream_export,
            ExportActivityInput(
                job=request.job,
                export_job_id=request.export_job_id,
                entity=request.entity,
                format=request.format,
                filters=request.filters,
            ),
            request.retry,
            timedelta(hours=6),
        )
