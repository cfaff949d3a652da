"""Job figures per job name, in SQL: the same query the README gives operators."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Durations are those of COMPLETED runs, started to finished; the success rate
# leaves cancelled runs out (a user's choice, not a failure).
JOB_METRICS = text("""
SELECT job_name,
       count(*)                                     AS total,
       count(*) FILTER (WHERE status = 'COMPLETED') AS completed,
       count(*) FILTER (WHERE status = 'FAILED')    AS failed,
       count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled,
       round(100.0 * count(*) FILTER (WHERE status = 'COMPLETED')
             / nullif(count(*) FILTER (WHERE status IN ('COMPLETED', 'FAILED')), 0), 2)
                                                    AS success_rate_pct,
       avg(extract(epoch FROM finished_at - started_at))
           FILTER (WHERE status = 'COMPLETED')      AS avg_seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))
           FILTER (WHERE status = 'COMPLETED')      AS p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))
           FILTER (WHERE status = 'COMPLETED')      AS p95_seconds
FROM job_runs
WHERE org_id = :org_id AND queued_at >= :since
GROUP BY job_name
ORDER BY job_name
""")


@dataclass(frozen=True)
class JobMetrics:
    job_name: str
    total: int
    completed: int
    failed: int
    cancelled: int
    success_rate_pct: float | None
    avg_seconds: float | None
    p50_seconds: float | None
    p95_seconds: float | None


async def job_metrics(session: AsyncSession, org_id: str, since: datetime) -> list[JobMetrics]:
    rows = await session.execute(JOB_METRICS, {"org_id": org_id, "since": since})
    return [
        JobMetrics(
            row.job_name,
            row.total,
            row.completed,
            row.failed,
            row.cancelled,
            _float(row.success_rate_pct),
            _float(row.avg_seconds),
            _float(row.p50_seconds),
            _float(row.p95_seconds),
        )
        for row in rows
    ]


def _float(value: object) -> float | None:
    return None if value is None else float(str(value))
