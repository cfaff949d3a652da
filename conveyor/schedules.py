"""Temporal Schedules that workers keep in line with their settings."""

import logging

from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

log = logging.getLogger(__name__)


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Creates the schedule, or brings an existing one to `schedule` (keeping a pause)."""
    try:
        await client.create_schedule(schedule_id, schedule)
        log.info("schedule %s created", schedule_id)
        return
    except ScheduleAlreadyRunningError:
        pass

    def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule.state = current.description.schedule.state
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(keep_state)
