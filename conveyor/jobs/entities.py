"""Domain rows that mirror their job's status, keyed by `job_runs.entity_type`.

A job kind registers its domain table here, with how job statuses read in its
own vocabulary, so the shared mirror keeps both in step in one transaction.
A table with `error`, `started_at` or `finished_at` columns gets those too.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.constants import TERMINAL_STATUSES, JobStatus
from conveyor.models import AiTask, Document, ExportJob, JobRun


@dataclass(frozen=True)
class EntityTable:
    table: Table
    status_names: dict[str, str] = field(default_factory=dict)

    def values_for(self, run: JobRun) -> dict[str, Any]:
        columns = self.table.c
        values: dict[str, Any] = {"status": self.status_names.get(run.status, run.status)}
        if "error" in columns:
            values["error"] = run.error
        if "started_at" in columns and run.status == JobStatus.RUNNING:
            values["started_at"] = func.coalesce(columns.started_at, func.now())
        if "finished_at" in columns and run.status in TERMINAL_STATUSES:
            values["finished_at"] = func.now()
        return values


ENTITY_TABLES: dict[str, EntityTable] = {
    "export_job": EntityTable(cast(Table, ExportJob.__table__)),
    "ai_task": EntityTable(cast(Table, AiTask.__table__), {JobStatus.COMPLETED: "DONE"}),
    "document": EntityTable(cast(Table, Document.__table__), {JobStatus.COMPLETED: "DONE"}),
}


async def sync_entity(session: AsyncSession, run: JobRun) -> None:
    """Brings the run's domain row to the run's status (and error and times)."""
    entity = ENTITY_TABLES.get(run.entity_type)
    if entity is None:
        return
    await session.execute(
        update(entity.table)
        .where(entity.table.c.id == uuid.UUID(run.entity_id))
        .values(entity.values_for(run))
    )
