"""Per-org caps on how many jobs of a kind run at once, held as PostgreSQL advisory locks.

A job takes one of its org's N slots for its kind while its main activity
runs. The slots live in PostgreSQL, so the cap holds across every worker,
and a crashed worker's slot frees itself when its connection drops. A job
that finds no free slot fails its attempt at once with ORG_AT_LIMIT; the
workflow then waits on a durable timer and asks again (see
`workflows.lifecycle.execute_job_activity`), so a waiting job holds no
worker slot and spends none of its retries.
"""

import contextlib
import zlib
from collections.abc import AsyncIterator

import asyncpg
from temporalio.exceptions import ApplicationError

from conveyor.jobs.errors import ORG_AT_LIMIT
from conveyor.jobs.payloads import JobRef
from conveyor.settings import Settings


class OrgSlots:
    def __init__(self, dsn: str, settings: Settings) -> None:
        self._dsn = dsn
        self._settings = settings

    @contextlib.asynccontextmanager
    async def hold(self, job: JobRef) -> AsyncIterator[None]:
        """Holds one of the org's slots for this kind; raises ORG_AT_LIMIT if none is free."""
        limit = self._settings.org_concurrency_limits.get(job.job_name, 0)
        if limit <= 0:
            yield
            return
        connection = await asyncpg.connect(self._dsn)
        try:
            await self._take_slot(connection, job, limit)
            yield
        finally:
            await connection.close()  # releases the advisory lock

    async def _take_slot(self, connection: asyncpg.Connection, job: JobRef, limit: int) -> None:
        # Two 32-bit keys: which (org, kind), and which of its slots.
        kind_key = zlib.crc32(f"{job.org_id}\0{job.job_name}".encode()) - 2**31
        for slot in range(limit):
            if await connection.fetchval("SELECT pg_try_advisory_lock($1, $2)", kind_key, slot):
                return
        raise ApplicationError(
            f"org {job.org_id} already runs {limit} {job.job_name} job(s); waiting for a slot",
            type=ORG_AT_LIMIT,
            non_retryable=True,
        )
