"""The Temporal Schedule that runs an email tick every few minutes, and manual ticks.

Workers serving the `email` queue call `ensure_email_schedule` when they
start (`worker.main.run_workers`, used by `conveyor worker` and by the API's
in-process workers alike), so the schedule always matches the settings of
the latest worker. Creating and updating are both idempotent.
"""

import logging
import uuid
from datetime import timedelta

from temporalio.client import Client, Schedule, ScheduleOverlapPolicy, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from conveyor.constants import JobName, TaskQueue
from conveyor.email.payloads import EmailTickInput
from conveyor.jobs.payloads import RetrySpec
from conveyor.schedules import ensure_schedule, periodic_schedule, system_search_attributes
from conveyor.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_TICK_ATTEMPTS = 5


def schedule_id(settings: Settings) -> str:
    return f"{settings.task_queue_prefix}email-tick"


def tick_input(settings: Settings) -> EmailTickInput:
    return EmailTickInput(
        retry=RetrySpec(
            max_attempts=settings.max_attempts(JobName.EMAIL_TICK, DEFAULT_TICK_ATTEMPTS),
            initial_interval_seconds=settings.retry_initial_interval_seconds,
            max_interval_seconds=settings.retry_max_interval_seconds,
            heartbeat_timeout_seconds=settings.heartbeat_timeout_seconds,
        ),
        batch_size=settings.email_batch_size,
        max_batches=settings.email_max_batches_per_tick,
    )


def build_schedule(settings: Settings) -> Schedule:
    return periodic_schedule(
        JobName.EMAIL_TICK,
        schedule_id(settings),
        settings.task_queue(TaskQueue.EMAIL),
        timedelta(seconds=settings.email_tick_interval_seconds),
        [tick_input(settings)],
    )


async def ensure_email_schedule(client: Client, settings: Settings) -> None:
    """Creates the schedule, or brings an existing one to these settings (keeping a pause)."""
    await ensure_schedule(client, schedule_id(settings), build_schedule(settings))


async def trigger_tick(client: Client, settings: Settings) -> str:
    """Runs a tick at once through the schedule (as the Temporal UI's trigger does).

    Without a schedule (no email worker has started yet) it starts a tick
    workflow directly. Returns what was triggered.
    """
    try:
        await client.get_schedule_handle(schedule_id(settings)).trigger(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL
        )
        return f"schedule {schedule_id(settings)}"
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    handle = await start_tick(client, settings)
    return f"workflow {handle.id}"


async def start_tick(
    client: Client, settings: Settings, workflow_id: str | None = None
) -> WorkflowHandle[object, object]:
    """Starts one tick workflow outside the schedule (manual ticks, tests, benchmarks)."""
    return await client.start_workflow(
        JobName.EMAIL_TICK.value,
        tick_input(settings),
        id=workflow_id or f"{schedule_id(settings)}-manual-{uuid.uuid4().hex[:12]}",
        task_queue=settings.task_queue(TaskQueue.EMAIL),
        search_attributes=system_search_attributes(JobName.EMAIL_TICK),
    )
