"""The AI task workflow: one activity answers the task; the lifecycle mirrors it.

Most tasks take one model call. Those run as a local activity, inside the
workflow's own task: no activity task goes through the server, which halves
its work per task. Input too long for one call is condensed map-reduce style
by a regular activity instead, whose heartbeats let a retry resume from the
chunks already summarised.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ai_task import AiTaskActivities
    from conveyor.ai.payloads import (
        NEEDS_MANY_CALLS,
        AiTaskActivityInput,
        AiTaskResult,
        AiTaskWorkflowInput,
    )
    from conveyor.constants import JobName

from workflows.lifecycle import ACTIVITY_FAILURES, execute_job_activity, failure_type, run_job

# Bounds one model call (the client's own timeout is OPENAI_TIMEOUT_SECONDS).
_ONE_CALL_TIMEOUT = timedelta(minutes=10)
_MANY_CALLS_TIMEOUT = timedelta(minutes=30)
_ONE_CALL_PATCH = "ai-task-one-call-local-activity"


@workflow.defn(name=JobName.AI_TASK.value)
class AiTaskWorkflow:
    @workflow.run
    async def run(self, request: AiTaskWorkflowInput) -> AiTaskResult:
        return await run_job(request.job, lambda: self._answer(request), AiTaskResult.summary)

    async def _answer(self, request: AiTaskWorkflowInput) -> AiTaskResult:
        task = AiTaskActivityInput(job=request.job, ai_task_id=request.ai_task_id)
        # Tasks started before the one-call path existed replay without it.
        if workflow.patched(_ONE_CALL_PATCH):
            try:
                return await execute_job_activity(
                    AiTaskActivities.run_short_ai_task,
                    task,
                    request.retry,
                    _ONE_CALL_TIMEOUT,
                    local=True,
                )
            except ACTIVITY_FAILURES as err:
                if failure_type(err) != NEEDS_MANY_CALLS:
                    raise
        return await execute_job_activity(
            AiTaskActivities.run_ai_task, task, request.retry, _MANY_CALLS_TIMEOUT
        )
