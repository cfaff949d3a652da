"""AI cost figures per user: the same SQL the README gives operators."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

AI_COSTS_PER_USER = text("""
SELECT user_id,
       sum(cost_cents) AS total_cost_cents,
       count(*)        AS task_count,
       avg(cost_cents) AS avg_cost_cents
FROM ai_tasks
WHERE org_id = :org_id AND status = 'DONE' AND created_at >= :since
GROUP BY user_id
ORDER BY total_cost_cents DESC, user_id
""")


@dataclass(frozen=True)
class UserAiCost:
    user_id: str
    total_cost_cents: Decimal
    task_count: int
    avg_cost_cents: Decimal


async def ai_costs_per_user(
    session: AsyncSession, org_id: str, since: datetime
) -> list[UserAiCost]:
    rows = await session.execute(AI_COSTS_PER_USER, {"org_id": org_id, "since": since})
    return [UserAiCost(*row) for row in rows]
