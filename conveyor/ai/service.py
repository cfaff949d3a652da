"""The AI task job kind: request validation, admission (size, model, spend), its row."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.ai.payloads import AiTaskWorkflowInput
from conveyor.ai.pricing import OFFLINE_MODEL, PriceTable, Usage
from conveyor.ai.task_types import TASK_TYPES
from conveyor.ai.text import estimate_tokens
from conveyor.auth import Principal
from conveyor.constants import JobName, TaskQueue
from conveyor.errors import BadRequest, ConveyorError, describe_validation
from conveyor.jobs.kinds import JobKind
from conveyor.jobs.payloads import JobRef, RetrySpec
from conveyor.models import AiTask
from conveyor.settings import Settings
from conveyor.tenancy import get_owned

DEFAULT_MODEL = "gpt-4o-mini"


class SpendLimitExceeded(ConveyorError):
    status_code = 402
    code = "spend_limit_exceeded"


class AiTaskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    input: dict[str, Any]
    model: str = DEFAULT_MODEL

    @field_validator("type")
    @classmethod
    def _known_type(cls, name: str) -> str:
        if name not in TASK_TYPES:
            raise ValueError(f"unknown type {name!r}; allowed: {', '.join(sorted(TASK_TYPES))}")
        return name

    @model_validator(mode="after")
    def _valid_input(self) -> "AiTaskRequest":
        try:
            parsed = TASK_TYPES[self.type].input_model.model_validate(self.input)
        except ValidationError as err:
            raise ValueError(f"input: {describe_validation(err.errors())}") from None
        # Stored normalized, so equal requests hash equal for deduplication.
        self.input = parsed.model_dump(mode="json", by_alias=True)
        return self


@dataclass(frozen=True)
class Spend:
    month_start: datetime
    spent_cents: Decimal
    task_count: int
    limit_cents: Decimal | None


async def month_spend(session: AsyncSession, settings: Settings, org_id: str) -> Spend:
    """What the org's AI tasks have cost since the start of this calendar month (UTC)."""
    month_start = func.date_trunc("month", func.now(), "UTC")
    row = (
        await session.execute(
            select(month_start, func.coalesce(func.sum(AiTask.cost_cents), 0), func.count()).where(
                AiTask.org_id == org_id, AiTask.created_at >= month_start
            )
        )
    ).one()
    return Spend(row[0], Decimal(row[1]), row[2], settings.ai_monthly_limit(org_id))


async def _admit(
    session: AsyncSession, settings: Settings, principal: Principal, request: AiTaskRequest
) -> None:
    content = str(request.input["content"])
    if len(content) > settings.ai_max_content_chars:
        raise BadRequest(
            f"input.content has {len(content)} characters;"
            f" the limit is {settings.ai_max_content_chars}"
        )
    prices = PriceTable(settings.ai_prices)
    if prices.get(request.model) is None:
        raise BadRequest(f"unknown model {request.model!r}; allowed: {', '.join(prices.models)}")
    await _check_spend(session, settings, principal, request, prices)


async def _check_spend(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    request: AiTaskRequest,
    prices: PriceTable,
) -> None:
    limit = settings.ai_monthly_limit(principal.org_id)
    if limit is None:
        return  # no limit: no need to sum the month's tasks
    spend = await month_spend(session, settings, principal.org_id)
    model = request.model if settings.openai_api_key else OFFLINE_MODEL
    estimate = prices.cost_cents(model, _estimated_usage(request))
    if spend.spent_cents + estimate > limit:
        raise SpendLimitExceeded(
            f"this task would exceed the org's monthly AI spending limit of"
            f" {limit}¢ (spent {spend.spent_cents:.6f}¢, this task ~{estimate:.6f}¢)",
            spentCents=str(spend.spent_cents),
            limitCents=str(limit),
        )


def _estimated_usage(request: AiTaskRequest) -> Usage:
    task_type = TASK_TYPES[request.type]
    task = task_type.input_model.model_validate(request.input)
    prompt = task_type.prompt(task, task.content)
    return Usage(estimate_tokens(prompt.system + prompt.user), 0, prompt.max_output_tokens)


async def _create_ai_task(
    session: AsyncSession, principal: Principal, entity_id: uuid.UUID, request: AiTaskRequest
) -> None:
    session.add(
        AiTask(
            id=entity_id,
            org_id=principal.org_id,
            user_id=principal.user_id,
            type=request.type,
            input=request.input,
            model=request.model,
        )
    )
    await session.flush()


def _workflow_input(
    job: JobRef, retry: RetrySpec, entity_id: uuid.UUID, request: AiTaskRequest
) -> AiTaskWorkflowInput:
    return AiTaskWorkflowInput(job=job, retry=retry, ai_task_id=str(entity_id))


AI_TASK_JOB = JobKind(
    name=JobName.AI_TASK,
    task_queue=TaskQueue.AI,
    entity_type="ai_task",
    payload_model=AiTaskRequest,
    default_max_attempts=5,
    create_entity=_create_ai_task,
    build_input=_workflow_input,
    admit=_admit,
)


async def get_ai_task(session: AsyncSession, principal: Principal, task_id: uuid.UUID) -> AiTask:
    return await get_owned(session, AiTask, task_id, principal, "AI task")


async def list_ai_tasks(
    session: AsyncSession, principal: Principal, limit: int, offset: int
) -> list[AiTask]:
    query = (
        select(AiTask)
        .where(AiTask.org_id == principal.org_id)
        .order_by(AiTask.created_at.desc(), AiTask.id)
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(query))
