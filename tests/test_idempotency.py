"""Deterministic job ids, dedupe windows and Idempotency-Key, through the HTTP API."""

import asyncio
import uuid

from temporalio.client import Client

from tests.conftest import Services
from tests.helpers import Stack, start_stack

SESSIONS_CSV = {"entity": "sessions", "format": "csv"}


async def test_same_payload_returns_same_job_while_queued_running_or_done(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    first = await stack.start_export(tenant, SESSIONS_CSV)
    again = await stack.start_export(tenant, SESSIONS_CSV)
    await stack.wait_for(tenant, first["jobRunId"], ("COMPLETED",))
    after_done = await stack.start_export(tenant, SESSIONS_CSV)

    assert first["created"] is True
    for duplicate in (again, after_done):
        assert duplicate["created"] is False
        for key in ("jobRunId", "jobId", "exportJobId"):
            assert duplicate[key] == first[key]
    assert after_done["status"] == "COMPLETED"


async def test_different_payloads_and_users_get_different_jobs(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    csv_job = await stack.start_export(tenant, SESSIONS_CSV)
    ndjson_job = await stack.start_export(tenant, {"entity": "sessions", "format": "ndjson"})
    assert csv_job["jobId"] != ndjson_job["jobId"]


async def test_twenty_concurrent_identical_requests_make_one_job(
    stack: Stack, services: Services
) -> None:
    tenant = await stack.new_tenant()
    responses = await asyncio.gather(*(stack.start_export(tenant, SESSIONS_CSV) for _ in range(20)))

    assert len({r["jobRunId"] for r in responses}) == 1
    assert len({r["exportJobId"] for r in responses}) == 1
    assert sum(r["created"] for r in responses) == 1
    runs = await stack.sql("SELECT count(*) FROM job_runs WHERE org_id = $1", tenant.org_id)
    exports = await stack.sql("SELECT count(*) FROM export_jobs WHERE org_id = $1", tenant.org_id)
    assert runs[0][0] == exports[0][0] == 1
    temporal = await Client.connect(services.temporal_address)
    workflows = await temporal.count_workflows(f"WorkflowId = '{responses[0]['jobId']}'")
    assert workflows.count == 1


async def test_reused_idempotency_key_with_other_payload_is_409(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = await stack.start_export(tenant, SESSIONS_CSV, **key)
    same = await stack.start_export(tenant, SESSIONS_CSV, **key)
    conflict = await stack.client.post(
        "/api/exports",
        json={"entity": "job_runs", "format": "csv"},
        headers={**tenant.headers, **key},
    )

    assert same["jobRunId"] == first["jobRunId"]
    assert conflict.status_code == 409
    body = conflict.json()
    assert body["code"] == "idempotency_key_reused"
    assert body["jobId"] == first["jobId"]
    assert body["jobRunId"] == first["jobRunId"]


async def test_idempotency_keys_are_scoped_to_the_org(stack: Stack) -> None:
    tenant, other = await stack.new_tenant(), await stack.new_tenant()
    key = {"Idempotency-Key": "shared-key"}
    mine = await stack.start_export(tenant, SESSIONS_CSV, **key)
    theirs = await stack.start_export(other, {"entity": "job_runs"}, **key)
    assert mine["jobId"] != theirs["jobId"]


async def test_a_new_job_starts_once_the_dedupe_window_has_passed(services: Services) -> None:
    async with start_stack(
        services, f"window-{uuid.uuid4().hex[:8]}-", job_dedupe_windows={"export": 1}
    ) as stack:
        tenant = await stack.new_tenant()
        first = await stack.start_export(tenant, SESSIONS_CSV)
        await stack.wait_for(tenant, first["jobRunId"], ("COMPLETED",))
        await asyncio.sleep(1.2)
        second = await stack.start_export(tenant, SESSIONS_CSV)
        assert second["created"] is True
        assert second["jobRunId"] != first["jobRunId"]
        assert second["jobId"] != first["jobId"]
