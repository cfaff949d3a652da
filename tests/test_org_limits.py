"""A per-org cap on concurrent jobs of a kind holds across the worker, without spending retries."""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from conveyor.db import asyncpg_dsn
from conveyor.seed import seed_sessions
from tests.conftest import Services
from tests.faults import FaultyProxy
from tests.helpers import Stack, Tenant, start_stack
from tests.openai_stub import OpenAIStub


async def _running(stack: Stack, tenant: Tenant) -> int:
    rows = await stack.sql(
        "SELECT count(*) FROM job_runs WHERE org_id = $1 AND status = 'RUNNING'", tenant.org_id
    )
    return int(rows[0][0])


async def test_an_org_runs_at_most_its_cap_of_exports(
    services: Services, proxy: FaultyProxy
) -> None:
    prefix = f"cap-{uuid.uuid4().hex[:8]}-"
    async with start_stack(
        services,
        prefix,
        s3_endpoint_url=proxy.url,
        export_part_size_mb=5,
        org_concurrency_limits={"export": 1},
    ) as stack:
        capped, other = await stack.new_tenant(), await stack.new_tenant()
        for tenant in (capped, other):
            await seed_sessions(asyncpg_dsn(stack.settings.database_url), tenant.org_id, 8_000)
        proxy.throttle(1_500_000)  # each export takes about a second
        mine = [
            await stack.start_export(capped, {"entity": "sessions"}, **{"Idempotency-Key": str(i)})
            for i in range(3)
        ]
        theirs = await stack.start_export(other, {"entity": "sessions"})
        watch = await _watch(stack, capped, other, [m["jobRunId"] for m in mine])
        other_run = await stack.wait_for(other, theirs["jobRunId"])

    assert watch.most_at_once == 1
    assert watch.overlapped, "another org's export is not held back by this org's cap"
    assert watch.attempts == [1, 1, 1], "waiting for a slot spends no retry"
    assert other_run["status"] == "COMPLETED"


async def test_the_cap_holds_for_ai_tasks_run_as_local_activities(
    services: Services, openai_stub: OpenAIStub
) -> None:
    prefix = f"cap-ai-{uuid.uuid4().hex[:8]}-"
    async with start_stack(
        services,
        prefix,
        openai_api_key="test-key",
        openai_base_url=openai_stub.base_url,
        org_concurrency_limits={"ai_task": 1},
    ) as stack:
        capped, other = await stack.new_tenant(), await stack.new_tenant()
        openai_stub.latency = 0.5
        try:
            mine = [
                await stack.start("/api/ai-tasks", capped, _summary(f"Memo {i}: costs fell."))
                for i in range(3)
            ]
            theirs = await stack.start("/api/ai-tasks", other, _summary("Memo: sales rose."))
            watch = await _watch(stack, capped, other, [m["jobRunId"] for m in mine])
            other_run = await stack.wait_for(other, theirs["jobRunId"])
        finally:
            openai_stub.reset()

    assert watch.most_at_once == 1
    assert watch.overlapped, "another org's task is not held back by this org's cap"
    assert watch.attempts == [1, 1, 1], "waiting for a slot spends no retry"
    assert other_run["status"] == "COMPLETED"


def _summary(content: str) -> dict[str, Any]:
    return {"type": "SUMMARIZE", "input": {"content": content}}


@dataclass(frozen=True)
class _Watch:
    most_at_once: int
    overlapped: bool
    attempts: list[int]


async def _watch(stack: Stack, capped: Tenant, other: Tenant, job_run_ids: list[str]) -> _Watch:
    """Follows the capped org's jobs to the end: the most it ran at once, whether
    the other org ran beside its one, and the attempts each took."""
    most_at_once, overlapped = 0, False
    async with asyncio.timeout(90):
        while True:
            running_mine, running_theirs = (
                await _running(stack, capped),
                await _running(stack, other),
            )
            most_at_once = max(most_at_once, running_mine)
            overlapped = overlapped or (running_mine == 1 and running_theirs == 1)
            runs = [await stack.job_run(capped, job_run_id) for job_run_id in job_run_ids]
            if all(run["status"] == "COMPLETED" for run in runs):
                return _Watch(most_at_once, overlapped, [run["attempt"] for run in runs])
            await asyncio.sleep(0.05)
