"""The job-run API: status, listing, cancellation, correlation, search attributes."""

import asyncio
import uuid

import pytest
from botocore.exceptions import ClientError
from temporalio.client import Client

from conveyor.constants import SA_ENTITY_ID, SA_JOB_NAME, SA_ORG_ID
from conveyor.db import asyncpg_dsn
from conveyor.seed import seed_sessions
from conveyor.storage import create_s3_client
from tests.conftest import Services
from tests.faults import FaultyProxy
from tests.helpers import Stack


async def test_job_run_carries_the_request_correlation_id(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    request_id = f"req-{uuid.uuid4()}"
    response = await stack.client.post(
        "/api/exports",
        json={"entity": "sessions"},
        headers={**tenant.headers, "X-Request-ID": request_id},
    )
    assert response.headers["X-Request-ID"] == request_id
    run = await stack.wait_for(tenant, response.json()["jobRunId"])
    assert run["correlationId"] == request_id
    generated = await stack.client.get("/api/job-runs", headers=tenant.headers)
    assert len(generated.headers["X-Request-ID"]) == 32


async def test_workflows_carry_search_attributes(stack: Stack, services: Services) -> None:
    tenant = await stack.new_tenant()
    accepted = await stack.start_export(tenant, {"entity": "sessions"})
    await stack.wait_for(tenant, accepted["jobRunId"])
    temporal = await Client.connect(services.temporal_address)
    description = await temporal.get_workflow_handle(accepted["jobId"]).describe()
    attributes = description.typed_search_attributes
    assert attributes.get(SA_ORG_ID) == tenant.org_id
    assert attributes.get(SA_JOB_NAME) == "export"
    assert attributes.get(SA_ENTITY_ID) == accepted["exportJobId"]


async def test_list_filters_and_paginates_newest_first(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    started = []
    for body in (
        {"entity": "sessions"},
        {"entity": "job_runs"},
        {"entity": "sessions", "format": "ndjson"},
    ):
        accepted = await stack.start_export(tenant, body)
        await stack.wait_for(tenant, accepted["jobRunId"])
        started.append(accepted["jobRunId"])

    first = (await stack.client.get("/api/job-runs?limit=2", headers=tenant.headers)).json()
    second = (
        await stack.client.get(
            f"/api/job-runs?limit=2&cursor={first['nextCursor']}", headers=tenant.headers
        )
    ).json()
    listed = [run["id"] for run in first["items"] + second["items"]]
    assert listed == started[::-1]
    assert second["nextCursor"] is None
    completed = await stack.client.get(
        "/api/job-runs?status=COMPLETED&job_name=export", headers=tenant.headers
    )
    assert len(completed.json()["items"]) == 3
    failed = await stack.client.get("/api/job-runs?status=FAILED", headers=tenant.headers)
    assert failed.json()["items"] == []


async def test_cancel_stops_the_export_and_leaves_no_object(
    faulty_stack: Stack, proxy: FaultyProxy
) -> None:
    stack = faulty_stack
    tenant = await stack.new_tenant()
    await seed_sessions(asyncpg_dsn(stack.settings.database_url), tenant.org_id, 60_000)
    proxy.throttle(1_000_000)
    accepted = await stack.start_export(tenant, {"entity": "sessions"})
    await stack.wait_for(tenant, accepted["jobRunId"], ("RUNNING",), progress_at_least=1)

    response = await stack.client.post(
        f"/api/job-runs/{accepted['jobRunId']}/cancel", headers=tenant.headers
    )
    assert response.status_code == 202
    run = await stack.wait_for(tenant, accepted["jobRunId"])

    assert run["status"] == "CANCELLED"
    export = await stack.client.get(
        f"/api/exports/{accepted['exportJobId']}", headers=tenant.headers
    )
    assert export.json()["status"] == "CANCELLED"
    assert export.json()["fileObjectId"] is None
    proxy.heal()
    s3 = create_s3_client(stack.settings)
    key = f"exports/{tenant.org_id}/{accepted['exportJobId']}.csv"
    uploads = await asyncio.to_thread(s3.list_multipart_uploads, Bucket="conveyor", Prefix=key)
    assert uploads.get("Uploads", []) == []
    with pytest.raises(ClientError):
        await asyncio.to_thread(s3.head_object, Bucket="conveyor", Key=key)
    again = await stack.client.post(
        f"/api/job-runs/{accepted['jobRunId']}/cancel", headers=tenant.headers
    )
    assert again.status_code == 409
    dead = await stack.sql("SELECT count(*) FROM dead_letters WHERE org_id = $1", tenant.org_id)
    assert dead[0][0] == 0
