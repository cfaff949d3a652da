"""The Schedule that runs retention every RETENTION_INTERVAL_HOURS."""

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from conveyor.constants import JobName, TaskQueue
from conveyor.schedules import ensure_schedule, system_search_attributes
from conveyor.settings import Settings


def retention_schedule_id(settings: Settings) -> str:
    return f"{settings.task_queue_prefix}{JobName.RETENTION.value}"


async def ensure_retention_schedule(client: Client, settings: Settings) -> None:
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            JobName.RETENTION.value,
            id=retention_schedule_id(settings),
            task_queue=settings.task_queue(TaskQueue.MAINTENANCE),
            typed_search_attributes=system_search_attributes(JobName.RETENTION),
        ),
        spec=ScheduleSpec(
            intervals=[
                ScheduleIntervalSpec(every=timedelta(hours=settings.retention_interval_hours))
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await ensure_schedule(client, retention_schedule_id(settings), schedule)
