"""The Schedule that runs retention every RETENTION_INTERVAL_HOURS."""

from datetime import timedelta

from temporalio.client import Client

from conveyor.constants import JobName, TaskQueue
from conveyor.schedules import ensure_schedule, periodic_schedule
from conveyor.settings import Settings


def retention_schedule_id(settings: Settings) -> str:
    return f"{settings.task_queue_prefix}{JobName.RETENTION.value}"


async def ensure_retention_schedule(client: Client, settings: Settings) -> None:
    schedule = periodic_schedule(
        JobName.RETENTION,
        retention_schedule_id(settings),
        settings.task_queue(TaskQueue.MAINTENANCE),
        timedelta(hours=settings.retention_interval_hours),
    )
    await ensure_schedule(client, retention_schedule_id(settings), schedule)
