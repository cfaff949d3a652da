"""Job metrics match figures computed by hand on known runs."""

import statistics
from datetime import UTC, datetime, timedelta

from tests.helpers import Stack, Tenant

BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# (job_name, status, seconds from start to finish)
RUNS = [
    ("export", "COMPLETED", 2.0),
    ("export", "COMPLETED", 4.0),
    ("export", "COMPLETED", 10.0),
    ("export", "FAILED", 7.0),
    ("export", "CANCELLED", 1.0),
    ("ai_task", "COMPLETED", 1.5),
    ("ai_task", "QUEUED", 0.0),
]


async def _insert_runs(stack: Stack, tenant: Tenant) -> None:
    rows = []
    for i, (job_name, status, seconds) in enumerate(RUNS):
        started = BASE + timedelta(minutes=i)
        finished = started + timedelta(seconds=seconds) if status != "QUEUED" else None
        rows.append((f"{tenant.org_id}-{i}", job_name, status, tenant.org_id, started, finished))
    await stack.sql_many(
        "INSERT INTO job_runs (job_id, job_name, task_queue, status, org_id, user_id,"
        " entity_type, entity_id, payload, payload_hash, dedupe_key, queued_at, started_at,"
        " finished_at) SELECT $1, $2, 'q', $3, $4, 'u', 'e', 'e', '{}', 'h', $1, $5, $5, $6",
        rows,
    )


def _percentile(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between closest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def test_job_metrics_match_hand_computed_values(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    await _insert_runs(stack, tenant)
    metrics = await stack.get(tenant, "/api/metrics/jobs?since=2026-11-01T00:00:00Z")
    by_name = {row["jobName"]: row for row in metrics}

    export = by_name["export"]
    completed = [2.0, 4.0, 10.0]
    assert (export["total"], export["completed"], export["failed"], export["cancelled"]) == (
        5, 3, 1, 1,
    )  # fmt: skip
    assert export["successRatePct"] == 75.0
    assert export["avgSeconds"] == statistics.mean(completed)
    assert export["p50Seconds"] == _percentile(completed, 0.5) == 4.0
    assert abs(export["p95Seconds"] - _percentile(completed, 0.95)) < 1e-9
    ai = by_name["ai_task"]
    assert (ai["total"], ai["completed"], ai["successRatePct"], ai["avgSeconds"]) == (
        2,
        1,
        100.0,
        1.5,
    )
    later = await stack.get(tenant, "/api/metrics/jobs?since=2026-12-01T00:00:00Z")
    assert later == []
