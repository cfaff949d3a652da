"""The AI task workflow: one activity answers the task; the lifecycle mirrors it."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ai_task import AiTaskActivities
    from conveyor.ai.payloads import AiTaskActivityInput, AiTaskResult, AiTaskWorkflowInput
    from conveyor.constants import JobName

from workflows.lifecycle import execute_job_activity, run_job


@workflow.defn(name=JobName.AI_TASK.value)
class AiTaskWorkflow:
    @workflow.run
    async def run(self, request: AiTaskWorkflowInput) -> AiTaskResult:
        return await run_job(request.job, lambda: self._answer(request), AiTaskResult.summary)

    async def _answer(self, request: AiTaskWorkflowInput) -> AiTaskResult:
        return await execute_job_activity(
            AiTaskActivities.run_ai_task,
            AiTaskActivityInput(job=request.job, ai_task_id=request.ai_task_id),
            request.retry,
            timedelta(minutes=30),
        )
