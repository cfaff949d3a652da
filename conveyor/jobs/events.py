"""Live job-run changes from PostgreSQL LISTEN/NOTIFY, fanned out to subscribers.

One connection per API process listens on the `job_runs` channel (a trigger
notifies every change of status, progress, attempt, error or result); each
SSE stream subscribes to the runs it shows. Nothing polls the table.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "job_runs"


class JobRunEvents:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._subscribers: dict[str, set[asyncio.Queue[None]]] = {}

    async def start(self) -> None:
        self._connection = await asyncpg.connect(self._dsn)
        await self._connection.add_listener(CHANNEL, self._on_notify)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    @contextlib.asynccontextmanager
    async def subscribe(self, job_run_id: str) -> AsyncIterator[asyncio.Queue[None]]:
        """A queue that gets an item whenever the run changes (coalesced: size 1)."""
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._subscribers.setdefault(job_run_id, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(job_run_id, set())
            subscribers.discard(queue)
            if not subscribers:
                self._subscribers.pop(job_run_id, None)

    def _on_notify(self, _: object, __: int, channel: str, payload: str) -> None:
        for queue in self._subscribers.get(payload, ()):
            # A full queue already tells its reader to look again.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
