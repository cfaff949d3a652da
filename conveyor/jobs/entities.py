"""Domain rows that mirror their job's status, keyed by `job_runs.entity_type`.

A job kind registers its domain table here, with how job statuses read in its
own vocabulary, so the shared mirror can keep both in step in one transaction.
"""

from dataclasses import dataclass, field

from sqlalchemy import Column, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from conveyor.models import ExportJob


@dataclass(frozen=True)
class EntityTable:
    model: type[DeclarativeBase]
    status_names: dict[str, str] = field(default_factory=dict)

    def status_for(self, job_status: str) -> str:
        return self.status_names.get(job_status, job_status)


ENTITY_TABLES: dict[str, EntityTable] = {
    "export_job": EntityTable(ExportJob),
}


async def sync_entity_status(
    session: AsyncSession, entity_type: str, entity_id: str, job_status: str
) -> None:
    table = ENTITY_TABLES.get(entity_type)
    if table is None:
        return
    id_column: Column[object] = table.model.__table__.c.id  # type: ignore[attr-defined]
    status_column: Column[str] = table.model.__table__.c.status  # type: ignore[attr-defined]
    await session.execute(
        update(table.model.__table__)  # type: ignore[attr-defined]
        .where(id_column == entity_id)
        .values({status_column: table.status_for(job_status)})
    )
