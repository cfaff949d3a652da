"""Metrics for the caller's org, computed in SQL."""

from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import Schema
from conveyor.ai.metrics import ai_costs_per_user

router = APIRouter(prefix="/api/metrics", tags=["metrics"])


class UserAiCostOut(Schema):
    user_id: str
    total_cost_cents: Decimal
    task_count: int
    avg_cost_cents: Decimal


@router.get("/ai-costs")
async def read_ai_costs(
    session: SessionDep, principal: CurrentPrincipal, since: datetime | None = None
) -> list[UserAiCostOut]:
    """Per user: total cost, task count and average cost of DONE tasks since `since`."""
    rows = await ai_costs_per_user(
        session, principal.org_id, since or datetime(1970, 1, 1, tzinfo=UTC)
    )
    return [UserAiCostOut.model_validate(row) for row in rows]
