"""Retention removes old finished jobs, their exports and stored files; keeps the rest."""

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from temporalio.client import Client

from conveyor.constants import TaskQueue
from conveyor.db import asyncpg_dsn
from conveyor.maintenance.payloads import RetentionResult
from conveyor.seed import seed_sessions
from conveyor.storage import create_s3_client
from tests.helpers import Stack, Tenant

FORTY_DAYS_AGO = "now() - interval '40 days'"
SUMMARY = {"type": "SUMMARIZE", "input": {"content": "A short text. Another sentence."}}


async def _age(stack: Stack, job_run_id: str) -> None:
    await stack.sql(
        f"UPDATE job_runs SET queued_at = {FORTY_DAYS_AGO}, started_at = {FORTY_DAYS_AGO},"
        f" finished_at = {FORTY_DAYS_AGO} WHERE id = $1",
        uuid.UUID(job_run_id),
    )


async def _finished_export(stack: Stack, tenant: Tenant, fmt: str) -> dict[str, Any]:
    accepted = await stack.start_export(tenant, {"entity": "sessions", "format": fmt})
    return await stack.wait_for(tenant, accepted["jobRunId"], ("COMPLETED",))


async def _ids(stack: Stack, table: str, org_id: str) -> set[str]:
    rows = await stack.sql(f"SELECT id FROM {table} WHERE org_id = $1", org_id)
    return {str(row["id"]) for row in rows}


async def _run_retention(stack: Stack) -> RetentionResult:
    client = await Client.connect(stack.settings.temporal_address)
    return await client.execute_workflow(
        "retention",
        id=f"retention-test-{uuid.uuid4()}",
        task_queue=stack.settings.task_queue(TaskQueue.MAINTENANCE),
        result_type=RetentionResult,
    )


async def test_retention_removes_what_is_past_its_age(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    await seed_sessions(asyncpg_dsn(stack.settings.database_url), tenant.org_id, 3)
    old, recent = [await _finished_export(stack, tenant, fmt) for fmt in ("csv", "ndjson")]
    ai = await stack.start("/api/ai-tasks", tenant, SUMMARY)
    await _age(stack, old["id"])
    await _age(stack, (await stack.wait_for(tenant, ai["jobRunId"]))["id"])
    [old_file] = await stack.sql(
        "SELECT key FROM file_objects WHERE id = $1", uuid.UUID(old["result"]["fileObjectId"])
    )

    result = await _run_retention(stack)

    assert result.job_runs >= 2 and result.exports >= 1 and result.files >= 1
    assert await _ids(stack, "job_runs", tenant.org_id) == {recent["id"]}
    assert await _ids(stack, "export_jobs", tenant.org_id) == {recent["entityId"]}
    assert await _ids(stack, "file_objects", tenant.org_id) == {recent["result"]["fileObjectId"]}
    with pytest.raises(ClientError):
        create_s3_client(stack.settings).head_object(
            Bucket=stack.settings.s3_bucket, Key=old_file["key"]
        )
    assert (await stack.download(tenant, recent["result"]["fileObjectId"])).startswith(b"{")
    ai_task = await stack.get(tenant, f"/api/ai-tasks/{ai['aiTaskId']}")
    assert ai_task["status"] == "DONE", "AI tasks are the cost ledger: they stay"
    [run] = await stack.sql(
        "SELECT status, result FROM job_runs WHERE job_name = 'retention' AND org_id = 'system'"
        " ORDER BY queued_at DESC LIMIT 1"
    )
    assert run["status"] == "COMPLETED"
