"""A worker killed in the middle of an export loses nothing and duplicates nothing."""

import asyncio
import csv
import io
import signal
import uuid
from typing import Any

from conveyor.db import asyncpg_dsn
from conveyor.seed import seed_sessions
from conveyor.storage import create_s3_client
from tests.conftest import Services
from tests.faults import FaultyProxy
from tests.helpers import Stack, start_stack, worker_process

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
        await _assert_exactly_one_complete_file(stack, tenant.org_id, run)


async def _assert_exactly_one_complete_file(stack: Stack, org_id: str, run: dict[str, Any]) -> None:
    files = await stack.sql("SELECT id, key FROM file_objects WHERE org_id = $1", org_id)
    assert [str(f["id"]) for f in files] == [run["result"]["fileObjectId"]]
    s3 = create_s3_client(stack.settings)
    key = files[0]["key"]
    body = (await asyncio.to_thread(s3.get_object, Bucket="conveyor", Key=key))["Body"].read()
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert len(rows) == ROWS + 1 == run["result"]["rowCount"] + 1
    assert len({row[0] for row in rows[1:]}) == ROWS
    uploads = await asyncio.to_thread(s3.list_multipart_uploads, Bucket="conveyor", Prefix=key)
    assert uploads.get("Uploads", []) == []
