"""A Temporal server killed and restarted mid-run loses no job and duplicates none.

The server here is its own file-backed dev server (the shared one must stay
up for the other tests), killed with SIGKILL while an export streams and AI
tasks wait on the model, then started again on the same port and file. The
worker process and the API keep running throughout, as they would in
production.
"""

import asyncio
import uuid
from pathlib import Path

from conveyor import devstack
from conveyor.db import asyncpg_dsn
from conveyor.seed import seed_sessions
from tests.conftest import Services
from tests.faults import FaultyProxy
from tests.helpers import assert_one_complete_export, start_stack, worker_process
from tests.openai_stub import OpenAIStub

ROWS = 60_000
AI_TASKS = 6


async def test_jobs_survive_a_temporal_server_restart(
    services: Services, proxy: FaultyProxy, stub: OpenAIStub, tmp_path: Path
) -> None:
    port = devstack.free_port()
    db_file = tmp_path / "temporal.db"
    temporal = await asyncio.to_thread(devstack.start_temporal, db_file, port, None, True)
    prefix = f"restart-{uuid.uuid4().hex[:8]}-"
    ai_env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": stub.base_url}
    try:
        async with (
            start_stack(
                services, prefix, temporal_address=temporal.url, queue_workers_enabled=False
            ) as stack,
            worker_process(
                services,
                prefix,
                queues="exports,ai",
                TEMPORAL_ADDRESS=temporal.url,
                S3_ENDPOINT_URL=proxy.url,
                HEARTBEAT_TIMEOUT_SECONDS="2",
                **ai_env,
            ),
        ):
            tenant = await stack.new_tenant()
            await seed_sessions(asyncpg_dsn(services.database_url), tenant.org_id, ROWS)
            proxy.throttle(1_000_000)
            stub.latency = 2.0
            export = await stack.start_export(tenant, {"entity": "sessions"})
            tasks = [
                await stack.start(
                    "/api/ai-tasks",
                    tenant,
                    {"type": "SUMMARIZE", "input": {"content": f"Report {i}: sales rose."}},
                )
                for i in range(AI_TASKS)
            ]
            await stack.wait_for(tenant, export["jobRunId"], ("RUNNING",), progress_at_least=1)
            await asyncio.wait_for(stub.called.wait(), timeout=30)

            temporal.process.kill()
            await asyncio.to_thread(temporal.process.wait)
            proxy.throttle(None)
            stub.latency = 0.0
            temporal = await asyncio.to_thread(devstack.start_temporal, db_file, port, None, True)

            runs = [
                await stack.wait_for(tenant, accepted["jobRunId"], within=120)
                for accepted in [export, *tasks]
            ]
            assert [run["status"] for run in runs] == ["COMPLETED"] * (1 + AI_TASKS), runs
            await assert_one_complete_export(stack, tenant.org_id, runs[0], ROWS)
            for accepted in tasks:
                task = await stack.get(tenant, f"/api/ai-tasks/{accepted['aiTaskId']}")
                assert task["status"] == "DONE"
                assert task["output"]["summary"]
                assert task["calls"] >= 1
            counts = await stack.sql(
                "SELECT (SELECT count(*) FROM job_runs WHERE org_id = $1),"
                " (SELECT count(*) FROM ai_tasks WHERE org_id = $1),"
                " (SELECT count(*) FROM export_jobs WHERE org_id = $1),"
                " (SELECT count(*) FROM dead_letters WHERE org_id = $1)",
                tenant.org_id,
            )
            assert tuple(counts[0]) == (1 + AI_TASKS, AI_TASKS, 1, 0)
    finally:
        proxy.throttle(None)
        temporal.stop()
