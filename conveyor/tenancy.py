"""Reading one row of a tenant: another org's row is as absent as a missing one."""

import uuid
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.auth import Principal
from conveyor.errors import NotFound
from conveyor.models import Base

Owned = TypeVar("Owned", bound=Base)


async def get_owned(
    session: AsyncSession, model: type[Owned], row_id: uuid.UUID, principal: Principal, what: str
) -> Owned:
    """The row with `row_id` in the caller's org, else NotFound naming `what`."""
    columns = model.__table__.c
    row = await session.scalar(
        select(model).where(columns.id == row_id, columns.org_id == principal.org_id)
    )
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row
