"""The mirror's activity: workflows report how their job ended through it."""

from temporalio import activity

from conveyor.db import SessionMaker
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.payloads import FinishJobInput, JobRef, SystemRunInput


class JobRunActivities:
    def __init__(self, session_maker: SessionMaker) -> None:
        self._mirror = JobRunMirror(session_maker)

    @activity.defn
    async def start_system_run(self, request: SystemRunInput) -> JobRef:
        """Gives a scheduled workflow its `job_runs` row."""
        return await self._mirror.start_system_run(request)

    @activity.defn
    async def finish_job(self, finish: FinishJobInput) -> bool:
        """Marks the run COMPLETED, FAILED (and dead-lettered) or CANCELLED."""
        return await self._mirror.finish(finish)
