"""Builds and runs the workers for the task queues this process serves."""

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import (
    PollerBehaviorAutoscaling,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.ai_task import AiTaskActivities
from activities.doc_ingest import DocIngestActivities
from activities.email_sequence import EmailSequenceActivities
from activities.export import ExportActivities
from activities.job_runs import JobRunActivities
from activities.retention import RetentionActivities
from conveyor.ai.providers import create_provider
from conveyor.constants import TaskQueue
from conveyor.db import SessionMaker
from conveyor.email.schedule import ensure_email_schedule
from conveyor.maintenance.schedule import ensure_retention_schedule
from conveyor.settings import Settings
from conveyor.storage import S3Client
from worker.interceptors import JobLogContextInterceptor
from workflows.ai_task import AiTaskWorkflow
from workflows.doc_ingest import DocIngestWorkflow
from workflows.email_sequence import EmailTickWorkflow
from workflows.export import ExportWorkflow
from workflows.retention import RetentionWorkflow

log = logging.getLogger("conveyor.worker")


@dataclass(frozen=True)
class WorkerDeps:
    settings: Settings
    session_maker: SessionMaker
    s3: S3Client


@dataclass(frozen=True)
class WorkerModule:
    """What one task queue runs: its workflows and the activities they call."""

    name: str
    queue: TaskQueue
    workflows: Sequence[type]
    activities: Callable[[WorkerDeps], Sequence[Callable[..., Any]]]
    concurrency: Callable[[Settings], int]


def _export_activities(deps: WorkerDeps) -> Sequence[Callable[..., Any]]:
    exports = ExportActivities(deps.session_maker, deps.s3, deps.settings)
    return [exports.stream_export, JobRunActivities(deps.session_maker).finish_job]


def _ai_activities(deps: WorkerDeps) -> Sequence[Callable[..., Any]]:
    provider = create_provider(deps.settings)
    ai_tasks = AiTaskActivities(deps.session_maker, provider, deps.settings)
    return [
        ai_tasks.run_short_ai_task,
        ai_tasks.run_ai_task,
        JobRunActivities(deps.session_maker).finish_job,
    ]


def _doc_activities(deps: WorkerDeps) -> Sequence[Callable[..., Any]]:
    docs = DocIngestActivities(deps.session_maker, deps.s3, deps.settings)
    return [
        docs.inspect_document,
        docs.ingest_pages,
        docs.finish_document,
        docs.discard_output,
        JobRunActivities(deps.session_maker).finish_job,
    ]


def _email_activities(deps: WorkerDeps) -> Sequence[Callable[..., Any]]:
    email = EmailSequenceActivities(deps.session_maker, deps.settings)
    mirror = JobRunActivities(deps.session_maker)
    return [email.send_due_steps, mirror.start_system_run, mirror.finish_job]


def _maintenance_activities(deps: WorkerDeps) -> Sequence[Callable[..., Any]]:
    retention = RetentionActivities(deps.session_maker, deps.s3, deps.settings)
    mirror = JobRunActivities(deps.session_maker)
    return [retention.purge_expired, mirror.start_system_run, mirror.finish_job]


MODULES: dict[TaskQueue, WorkerModule] = {
    TaskQueue.EXPORTS: WorkerModule(
        "WorkerExportModule",
        TaskQueue.EXPORTS,
        [ExportWorkflow],
        _export_activities,
        lambda settings: settings.worker_max_concurrent_activities,
    ),
    # Model calls mostly wait on the network: many can share one worker. The
    # provider holds them to AI_MAX_CONCURRENT_ACTIVITIES; twice as many slots
    # let tasks do their database writes beside those calls, not between them.
    TaskQueue.AI: WorkerModule(
        "WorkerAiModule",
        TaskQueue.AI,
        [AiTaskWorkflow],
        _ai_activities,
        lambda settings: 2 * settings.ai_max_concurrent_activities,
    ),
    TaskQueue.EMAIL: WorkerModule(
        "WorkerEmailModule",
        TaskQueue.EMAIL,
        [EmailTickWorkflow],
        _email_activities,
        lambda settings: settings.worker_max_concurrent_activities,
    ),
    # tesseract itself is held to one process per core (DocIngestActivities);
    # more activity slots than that keep short steps from queueing behind OCR.
    TaskQueue.DOCS: WorkerModule(
        "WorkerDocModule",
        TaskQueue.DOCS,
        [DocIngestWorkflow],
        _doc_activities,
        lambda settings: settings.doc_max_concurrent_activities or 4 * (os.cpu_count() or 1),
    ),
    TaskQueue.MAINTENANCE: WorkerModule(
        "WorkerMaintenanceModule",
        TaskQueue.MAINTENANCE,
        [RetentionWorkflow],
        _maintenance_activities,
        lambda settings: 1,
    ),
}


def parse_queues(names: str | None) -> list[TaskQueue]:
    """`exports,ai` → the queues; empty means every queue that has a module."""
    if not names:
        return list(MODULES)
    queues = []
    for name in (part.strip() for part in names.split(",") if part.strip()):
        try:
            queue = TaskQueue(name)
        except ValueError:
            raise ValueError(f"unknown queue {name!r}; known: {_known()}") from None
        if queue not in MODULES:
            raise ValueError(f"no worker module serves queue {name!r} yet; known: {_known()}")
        queues.append(queue)
    return queues


def _known() -> str:
    return ", ".join(queue.value for queue in MODULES)


def build_workers(client: Client, deps: WorkerDeps, queues: Sequence[TaskQueue]) -> list[Worker]:
    return [_build_worker(client, deps, MODULES[queue]) for queue in queues]


def _build_worker(client: Client, deps: WorkerDeps, module: WorkerModule) -> Worker:
    concurrency = module.concurrency(deps.settings)
    return Worker(
        client,
        task_queue=deps.settings.task_queue(module.queue),
        workflows=list(module.workflows),
        activities=list(module.activities(deps)),
        max_concurrent_activities=concurrency,
        # A job's main activity may run locally (a one-call AI task): same cap.
        max_concurrent_local_activities=concurrency,
        # Most of these workflows end in the workflow task that starts them, so
        # their tasks come from the normal queue, not the sticky one that fixed
        # pollers favour 4 to 1; autoscaled pollers follow the backlog instead.
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        workflow_runner=_workflow_runner(deps.settings),
        interceptors=[JobLogContextInterceptor()],
        # Heartbeats carry cancellation back to the activity; throttling them
        # to 80% of the heartbeat timeout would let a cancel wait ~8 s.
        max_heartbeat_throttle_interval=timedelta(seconds=1),
    )


def _workflow_runner(settings: Settings) -> WorkflowRunner:
    """The sandbox re-imports a workflow's modules for every run: a quarter of
    the worker's CPU for a short AI task. Our workflow modules are side-effect
    free and every test runs them in the sandbox, so production can skip it."""
    return SandboxedWorkflowRunner() if settings.workflow_sandbox else UnsandboxedWorkflowRunner()


async def run_workers(client: Client, deps: WorkerDeps, queues: Sequence[TaskQueue]) -> None:
    """Runs until cancelled, logging one line per module as it starts."""
    if TaskQueue.EMAIL in queues and deps.settings.email_schedule_enabled:
        await ensure_email_schedule(client, deps.settings)
    if TaskQueue.MAINTENANCE in queues and deps.settings.retention_schedule_enabled:
        await ensure_retention_schedule(client, deps.settings)
    workers = build_workers(client, deps, queues)
    for queue in queues:
        log.info(
            "%s started task_queue=%s",
            MODULES[queue].name,
            deps.settings.task_queue(queue),
            extra={"task_queue": deps.settings.task_queue(queue)},
        )
    await asyncio.gather(*(worker.run() for worker in workers))
