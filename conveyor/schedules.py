"""Temporal Schedules that workers keep in line with their settings."""

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from conveyor.constants import SA_JOB_NAME, SA_ORG_ID, SYSTEM_ORG, JobName

log = logging.getLogger(__name__)


def system_search_attributes(job_name: JobName) -> TypedSearchAttributes:
    """Lets operators find scheduled runs in the Temporal UI like any org's jobs."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(SA_ORG_ID, SYSTEM_ORG),
            SearchAttributePair(SA_JOB_NAME, job_name.value),
        ]
    )


def periodic_schedule(
    job_name: JobName,
    schedule_id: str,
    task_queue: str,
    every: timedelta,
    args: Sequence[Any] = (),
) -> Schedule:
    """Starts the system job every `every`; a run still going when the next
    is due makes that next one skip."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            job_name.value,
            args=args,
            # Temporal appends the scheduled time: each run has its own id.
            id=schedule_id,
            task_queue=task_queue,
            typed_search_attributes=system_search_attributes(job_name),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


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
