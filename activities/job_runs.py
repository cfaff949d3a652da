"""The mirror's activity: workflows report how their job ended through it."""

from temporalio import activity

from conveyor.db import SessionMaker
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.payloads import FinishJobInput


class JobRunActivities:
    def __init__(self, session_maker: SessionMaker) -> None:
        self._mirror = JobRunMirror(session_maker)

    @activity.defn
    async def finish_job(self, finish: FinishJobInput) -> bool:
        """Marks the run COMPLETED, FAILED (and dead-lettered) or CANCELLED."""
        return await self._mirror.finish(finish)
