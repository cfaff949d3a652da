"""Domain rows that mirror their job's status, keyed by `job_runs.entity_type`.

A job kind registers its domain table here, with how job statuses read in its
own vocabulary, so the shared mirror can keep both in step in one transaction.
"""

import uuid
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.models import ExportJob


@dataclass(frozen=True)
class EntityTable:
    table: Table
    status_names: dict[str, str] = field(default_factory=dict)

    def status_for(self, job_status: str) -> str:
        return self.status_names.get(job_status, job_status)


ENTITY_TABLES: dict[str, EntityTable] = {
    "export_job": EntityTable(cast(Table, ExportJob.__table__)),
}


async def sync_entity_status(
    session: AsyncSession, entity_type: str, entity_id: str, job_status: str
) -> None:
    entity = ENTITY_TABLES.get(entity_type)
    if entity is None:
        return
    await session.execute(
        update(entity.table)
        .where(entity.table.c.id == uuid.UUID(entity_id))
        .values(status=entity.status_for(job_status))
    )
