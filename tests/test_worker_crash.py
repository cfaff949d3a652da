"""A worker killed in the middle of an export loses nothing and duplicates nothing."""

import asyncio
import signal
import uuid

from conveyor.db import asyncpg_dsn
from conveyor.seed import seed_sessions
from tests.conftest import Services
from tests.faults import FaultyProxy
from tests.helpers import assert_one_complete_export, start_stack, worker_process

ROWS = 60_000


async def test_export_survives_worker_crash(services: Services, proxy: FaultyProxy) -> None:
    prefix = f"crash-{uuid.uuid4().hex[:8]}-"
    async with start_stack(
        services, prefix, queue_workers_enabled=False, heartbeat_timeout_seconds=2
    ) as stack:
        tenant = await stack.new_tenant()
        await seed_sessions(asyncpg_dsn(services.database_url), tenant.org_id, ROWS)
        proxy.throttle(1_000_000)
        async with worker_process(services, prefix, S3_ENDPOINT_URL=proxy.url) as doomed:
            accepted = await stack.start_export(tenant, {"entity": "sessions"})
            await stack.wait_for(tenant, accepted["jobRunId"], ("RUNNING",), progress_at_least=1)
            await asyncio.sleep(1)  # parts are on the wire now
            doomed.process.send_signal(signal.SIGKILL)
        proxy.throttle(None)
        async with worker_process(services, prefix, S3_ENDPOINT_URL=proxy.url):
            run = await stack.wait_for(tenant, accepted["jobRunId"], within=90)

        assert run["status"] == "COMPLETED", run
        assert run["attempt"] == 2
        await assert_one_complete_export(stack, tenant.org_id, run, ROWS)
