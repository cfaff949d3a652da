"""AI tasks: start one, read it, list them; the org's spend this month."""

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import CurrentPrincipal, SessionDep, SettingsDep
from api.jobs import JobIntakeDep
from api.schemas import AiTaskOut, Schema
from conveyor.ai.service import (
    AI_TASK_JOB,
    AiTaskRequest,
    get_ai_task,
    list_ai_tasks,
    month_spend,
)
from conveyor.models import JobRun

router = APIRouter(prefix="/api", tags=["ai tasks"])


@router.post("/ai-tasks", status_code=202)
async def start_ai_task(request: AiTaskRequest, intake: JobIntakeDep) -> dict[str, Any]:
    return await intake.accept(AI_TASK_JOB, request, entity_field="aiTaskId")


@router.get("/ai-tasks/{ai_task_id}")
async def read_ai_task(
    ai_task_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> AiTaskOut:
    task = await get_ai_task(session, principal, ai_task_id)
    job_run_id = await session.scalar(
        select(JobRun.id)
        .where(JobRun.entity_type == AI_TASK_JOB.entity_type, JobRun.entity_id == str(task.id))
        .order_by(JobRun.queued_at.desc())
        .limit(1)
    )
    return AiTaskOut.of(task, job_run_id)


@router.get("/ai-tasks")
async def list_all(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AiTaskOut]:
    return [AiTaskOut.of(task) for task in await list_ai_tasks(session, principal, limit, offset)]


class SpendOut(Schema):
    month_start: str
    spent_cents: Decimal
    limit_cents: Decimal | None
    remaining_cents: Decimal | None
    task_count: int


@router.get("/ai/spend")
async def read_spend(
    session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> SpendOut:
    spend = await month_spend(session, settings, principal.org_id)
    remaining = None
    if spend.limit_cents is not None:
        remaining = max(Decimal(0), spend.limit_cents - spend.spent_cents)
    return SpendOut(
        month_start=spend.month_start.isoformat(),
        spent_cents=spend.spent_cents,
        limit_cents=spend.limit_cents,
        remaining_cents=remaining,
        task_count=spend.task_count,
    )
