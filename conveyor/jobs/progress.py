"""Heartbeats and progress for long activities, shared by every job kind."""

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any, Self

from temporalio import activity

from conveyor.jobs.mirror import JobRunMirror

log = logging.getLogger(__name__)


class Heartbeat:
    """Heartbeats on a steady beat while the block runs.

    The beat runs in its own task, so liveness does not depend on the work
    loop reaching a heartbeat call (a slow S3 part, a long OCR); the
    heartbeat is also how Temporal delivers a cancellation to the activity.
    """

    def __init__(self, interval: float = 1.0) -> None:
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._checkpoint: Any = None
        self._beats = not activity.info().is_local

    @property
    def checkpoint(self) -> Any:
        """What a retried attempt resumes from; sent with every beat."""
        return self._checkpoint

    @checkpoint.setter
    def checkpoint(self, value: Any) -> None:
        # Sent at once (Temporal throttles it), so work done just before a
        # failure is not done again.
        self._checkpoint = value
        if self._beats:
            activity.heartbeat(*self._details())

    @staticmethod
    def resumed_checkpoint() -> Any:
        """The checkpoint the previous attempt last heartbeated, if any."""
        details = activity.info().heartbeat_details
        return details[1] if len(details) > 1 else None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._beat())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _details(self) -> tuple[Any, ...]:
        return (None, self._checkpoint)

    async def _after_beat(self) -> None:
        """What a subclass does on every beat, after heartbeating."""

    async def _beat(self) -> None:
        while True:
            if self._beats:
                activity.heartbeat(*self._details())
            await self._after_beat()
            await asyncio.sleep(self._interval)


class ProgressReporter(Heartbeat):
    """A heartbeat that also mirrors the activity's progress into `job_runs`."""

    def __init__(self, mirror: JobRunMirror, job_run_id: str, interval: float = 1.0) -> None:
        super().__init__(interval)
        self._mirror = mirror
        self._job_run_id = job_run_id
        self._percent = 0
        # Every run starts at 0%: nothing to write until there is progress.
        self._written = 0

    def update(self, done: int, total: int) -> None:
        """Records `done` of `total`; 100 is kept for the mirror's COMPLETED write."""
        if total > 0:
            self._percent = min(99, done * 100 // total)

    def _details(self) -> tuple[Any, ...]:
        return (self._percent, self._checkpoint)

    async def _after_beat(self) -> None:
        if self._percent == self._written:
            return
        # The bar may lag during a database blip; the heartbeat must not stop,
        # or Temporal would time out and restart the whole activity.
        try:
            await self._mirror.progress(self._job_run_id, self._percent)
        except Exception:
            log.warning("could not record progress", exc_info=True)
        else:
            self._written = self._percent
