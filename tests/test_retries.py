"""Retries, dead letters and replay, with faults injected on the S3 link."""

import uuid

import pytest

from conveyor.constants import TaskQueue
from conveyor.exports import registry
from tests.conftest import Services
from tests.faults import FaultyProxy
from tests.helpers import Stack, Tenant, in_process_worker, start_stack

SESSIONS_CSV = {"entity": "sessions", "format": "csv"}


async def test_transient_s3_fault_completes_on_attempt_two(
    faulty_stack: Stack, proxy: FaultyProxy
) -> None:
    tenant = await faulty_stack.new_tenant()
    proxy.refuse_next(1)
    accepted = await faulty_stack.start_export(tenant, SESSIONS_CSV)
    run = await faulty_stack.wait_for(tenant, accepted["jobRunId"])

    assert run["status"] == "COMPLETED", run
    assert run["attempt"] == 2, proxy.refused
    assert run["error"] is None


async def _fail_for_good(stack: Stack, proxy: FaultyProxy, tenant: Tenant) -> dict:
    proxy.refuse_all()
    accepted = await stack.start_export(tenant, SESSIONS_CSV)
    run = await stack.wait_for(tenant, accepted["jobRunId"])
    proxy.heal()
    return run


async def test_permanent_s3_fault_dead_letters_after_five_attempts(
    faulty_stack: Stack, proxy: FaultyProxy
) -> None:
    tenant = await faulty_stack.new_tenant()
    run = await _fail_for_good(faulty_stack, proxy, tenant)

    assert run["status"] == "FAILED"
    assert run["attempt"] == 5
    assert "S3" in run["error"] and "failed" in run["error"]
    letters = (await faulty_stack.client.get("/api/dead-letters", headers=tenant.headers)).json()
    assert len(letters) == 1
    assert letters[0]["jobRunId"] == run["id"]
    assert letters[0]["attempts"] == 5
    assert letters[0]["error"] == run["error"]
    assert letters[0]["payload"]["entity"] == "sessions"
    export = await faulty_stack.client.get(
        f"/api/exports/{run['entityId']}", headers=tenant.headers
    )
    assert export.json()["status"] == "FAILED"


async def test_replay_starts_a_fresh_linked_job(faulty_stack: Stack, proxy: FaultyProxy) -> None:
    stack = faulty_stack
    tenant = await stack.new_tenant()
    failed = await _fail_for_good(stack, proxy, tenant)
    letter = (await stack.client.get("/api/dead-letters", headers=tenant.headers)).json()[0]

    replay_url = f"/api/dead-letters/{letter['id']}/replay"
    replayed = await stack.client.post(replay_url, headers=tenant.headers)
    assert replayed.status_code == 202
    run = await stack.wait_for(tenant, replayed.json()["jobRunId"])

    assert run["status"] == "COMPLETED"
    assert run["replayOf"] == letter["id"]
    assert run["jobId"] != failed["jobId"]
    again = await stack.client.post(replay_url, headers=tenant.headers)
    assert again.json()["jobRunId"] == run["id"]
    assert again.json()["created"] is False
    letter = (
        await stack.client.get(f"/api/dead-letters/{letter['id']}", headers=tenant.headers)
    ).json()
    assert letter["replayedJobId"] == run["jobId"]
    edited = await stack.client.post(
        replay_url, json={"payload": {"entity": "job_runs"}}, headers=tenant.headers
    )
    assert edited.status_code == 409


async def test_replay_with_an_edited_payload(faulty_stack: Stack, proxy: FaultyProxy) -> None:
    stack = faulty_stack
    tenant = await stack.new_tenant()
    await _fail_for_good(stack, proxy, tenant)
    letter = (await stack.client.get("/api/dead-letters", headers=tenant.headers)).json()[0]
    replay_url = f"/api/dead-letters/{letter['id']}/replay"

    invalid = await stack.client.post(
        replay_url, json={"payload": {"entity": "nope"}}, headers=tenant.headers
    )
    assert invalid.status_code == 400
    assert "allowed: job_runs, sessions" in invalid.json()["message"]
    edited = await stack.client.post(
        replay_url,
        json={"payload": {"entity": "sessions", "format": "ndjson"}},
        headers=tenant.headers,
    )
    run = await stack.wait_for(tenant, edited.json()["jobRunId"])
    assert run["status"] == "COMPLETED"
    file = await stack.client.get(
        f"/api/file-objects/{run['result']['fileObjectId']}", headers=tenant.headers
    )
    assert file.json()["contentType"] == "application/x-ndjson"


async def test_a_failed_job_can_be_submitted_again(faulty_stack: Stack, proxy: FaultyProxy) -> None:
    tenant = await faulty_stack.new_tenant()
    failed = await _fail_for_good(faulty_stack, proxy, tenant)
    retried = await faulty_stack.start_export(tenant, SESSIONS_CSV)

    assert retried["created"] is True
    assert retried["jobRunId"] != failed["id"]
    run = await faulty_stack.wait_for(tenant, retried["jobRunId"])
    assert run["status"] == "COMPLETED"


async def test_payload_the_worker_cannot_honour_fails_at_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export queued for an entity that the worker's registry no longer has."""
    prefix = f"gone-{uuid.uuid4().hex[:8]}-"
    async with start_stack(services, prefix, queue_workers_enabled=False) as stack:
        tenant = await stack.new_tenant()
        accepted = await stack.start_export(tenant, {"entity": "job_runs"})
        monkeypatch.delitem(registry.ENTITIES, "job_runs")
        async with in_process_worker(stack, TaskQueue.EXPORTS):
            run = await stack.wait_for(tenant, accepted["jobRunId"])

    assert run["status"] == "FAILED"
    assert run["attempt"] == 1
    assert run["error"].startswith("entity 'job_runs' is not exportable")
