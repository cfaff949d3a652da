"""Metrics for the caller's org, computed in SQL."""

from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import Schema
from conveyor.ai.metrics import ai_costs_per_user
from conveyor.jobs.metrics import job_metrics

router = APIRouter(prefix="/api/metrics", tags=["metrics"])


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JobMetricsOut(Schema):
    job_name: str
    total: int
    completed: int
    failed: int
    cancelled: int
    success_rate_pct: float | None
    avg_seconds: float | None
    p50_seconds: float | None
    p95_seconds: float | None


@router.get("/jobs")
async def read_job_metrics(
    session: SessionDep, principal: CurrentPrincipal, since: datetime | None = None
) -> list[JobMetricsOut]:
    """Per job name: counts, success rate (cancelled left out), durations of completed runs."""
    rows = await job_metrics(session, principal.org_id, since or _EPOCH)
    return [JobMetricsOut.model_validate(row, from_attributes=True) for row in rows]


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
    rows = await ai_costs_per_user(session, principal.org_id, since or _EPOCH)
    return [UserAiCostOut.model_validate(row) for row in rows]
