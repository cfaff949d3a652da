"""Histories written by an earlier version of a workflow still replay on today's code.

A worker restarted onto new workflow code replays the histories of jobs
already running; a change that issues different commands for the same
history breaks them (NondeterminismError), unless it is patched in.
"""

import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from activities.ai_task import AiTaskActivities
from conveyor.ai.payloads import AiTaskActivityInput, AiTaskResult, AiTaskWorkflowInput
from conveyor.constants import JobName, TaskQueue
from conveyor.storage import create_s3_client
from tests.conftest import Services
from tests.helpers import start_stack
from tests.openai_stub import OpenAIStub
from worker.main import MODULES, WorkerDeps
from workflows.ai_task import AiTaskWorkflow
from workflows.lifecycle import execute_job_activity, run_job


@workflow.defn(name=JobName.AI_TASK.value, sandboxed=False)
class AiTaskWorkflowBeforeOneCallPath:
    """The AI task workflow as it was before one-call tasks ran as local activities."""

    @workflow.run
    async def run(self, request: AiTaskWorkflowInput) -> AiTaskResult:
        task = AiTaskActivityInput(job=request.job, ai_task_id=request.ai_task_id)
        return await run_job(
            request.job,
            lambda: execute_job_activity(
                AiTaskActivities.run_ai_task, task, request.retry, timedelta(minutes=30)
            ),
            AiTaskResult.summary,
        )


async def test_ai_tasks_started_before_the_one_call_path_replay(
    services: Services, openai_stub: OpenAIStub
) -> None:
    prefix = f"versions-{uuid.uuid4().hex[:8]}-"
    async with start_stack(
        services,
        prefix,
        queue_workers_enabled=False,
        openai_api_key="test-key",
        openai_base_url=openai_stub.base_url,
    ) as stack:
        tenant = await stack.new_tenant()
        client = await Client.connect(services.temporal_address)
        deps = WorkerDeps(stack.settings, stack.session_maker, create_s3_client(stack.settings))
        async with Worker(
            client,
            task_queue=stack.settings.task_queue(TaskQueue.AI),
            workflows=[AiTaskWorkflowBeforeOneCallPath],
            activities=list(MODULES[TaskQueue.AI].activities(deps)),
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            body = {"type": "SUMMARIZE", "input": {"content": "Churn fell in May."}}
            accepted = await stack.start("/api/ai-tasks", tenant, body)
            run = await stack.wait_for(tenant, accepted["jobRunId"])
        assert run["status"] == "COMPLETED"
        history = await client.get_workflow_handle(run["jobId"]).fetch_history()

    assert any(event.activity_task_scheduled_event_attributes.activity_type.name
               == "run_ai_task" for event in history.events)  # fmt: skip
    # Raises on a nondeterministic replay.
    await Replayer(workflows=[AiTaskWorkflow]).replay_workflow(history)
