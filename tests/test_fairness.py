"""One org's flood of jobs does not starve another org's few."""

import asyncio
import uuid

from conveyor.constants import TaskQueue
from tests.conftest import Services
from tests.helpers import Stack, Tenant, in_process_worker, start_stack

FLOOD, FEW = 300, 5


async def _submit(stack: Stack, tenant: Tenant, count: int) -> list[str]:
    """`count` distinct exports (one Idempotency-Key each), 20 requests at a time."""
    gate = asyncio.Semaphore(20)

    async def one(i: int) -> str:
        async with gate:
            key = f"{tenant.org_id}-{i}"
            accepted = await stack.start_export(
                tenant, {"entity": "job_runs"}, **{"Idempotency-Key": key}
            )
            return str(accepted["jobRunId"])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _completed(stack: Stack, tenant: Tenant) -> int:
    rows = await stack.sql(
        "SELECT count(*) FROM job_runs WHERE org_id = $1 AND status = 'COMPLETED'", tenant.org_id
    )
    return int(rows[0][0])


async def test_a_flood_from_one_org_does_not_starve_another(services: Services) -> None:
    prefix = f"fair-{uuid.uuid4().hex[:8]}-"
    async with start_stack(
        services, prefix, queue_workers_enabled=False, worker_max_concurrent_activities=2
    ) as stack:
        flooding, quiet = await stack.new_tenant(), await stack.new_tenant()
        await _submit(stack, flooding, FLOOD)
        few = await _submit(stack, quiet, FEW)  # submitted after the whole flood
        async with in_process_worker(stack, TaskQueue.EXPORTS):
            for job_run_id in few:
                assert (await stack.wait_for(quiet, job_run_id, within=120))[
                    "status"
                ] == "COMPLETED"
            flood_done = await _completed(stack, flooding)

    assert flood_done < FLOOD // 2, f"{flood_done} of the flood ran before the quiet org's {FEW}"
