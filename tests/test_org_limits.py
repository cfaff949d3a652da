"""A per-org cap on concurrent jobs of a kind holds across the worker, without spending retries."""

import asyncio
import uuid

from conveyor.db import asyncpg_dsn
from conveyor.seed import seed_sessions
from tests.conftest import Services
from tests.faults import FaultyProxy
from tests.helpers import Stack, Tenant, start_stack


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
        most_at_once, overlapped = 0, False
        async with asyncio.timeout(90):
            while True:
                running_mine, running_theirs = (
                    await _running(stack, capped),
                    await _running(stack, other),
                )
                most_at_once = max(most_at_once, running_mine)
                overlapped = overlapped or (running_mine == 1 and running_theirs == 1)
                runs = [await stack.job_run(capped, m["jobRunId"]) for m in mine]
                if all(run["status"] == "COMPLETED" for run in runs):
                    break
                await asyncio.sleep(0.05)
        other_run = await stack.wait_for(other, theirs["jobRunId"])

    assert most_at_once == 1
    assert overlapped, "another org's export is not held back by this org's cap"
    assert [run["attempt"] for run in runs] == [1, 1, 1], "waiting for a slot spends no retry"
    assert other_run["status"] == "COMPLETED"
