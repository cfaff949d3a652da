"""Bulk replay of dead letters and bulk cancel, chosen by filters."""

import uuid

from conveyor.constants import TaskQueue
from tests.faults import FaultyProxy
from tests.helpers import Services, Stack, in_process_worker, start_stack

SESSIONS = {"entity": "sessions"}


async def test_bulk_replay_takes_matching_letters_only(
    faulty_stack: Stack, proxy: FaultyProxy
) -> None:
    stack = faulty_stack
    tenant = await stack.new_tenant()
    proxy.refuse_all()
    failed = [
        await stack.start_export(tenant, {"entity": "sessions", "format": fmt})
        for fmt in ("csv", "ndjson")
    ]
    for accepted in failed:
        await stack.wait_for(tenant, accepted["jobRunId"])
    proxy.heal()

    nothing = await stack.client.post(
        "/api/dead-letters/replay", json={"errorContains": "no such text"}, headers=tenant.headers
    )
    assert nothing.json() == {"matched": 0, "replayed": [], "failed": []}
    response = await stack.client.post(
        "/api/dead-letters/replay",
        json={"jobName": "export", "errorContains": "s3"},
        headers=tenant.headers,
    )
    body = response.json()
    assert body["matched"] == 2 and body["failed"] == []
    for replayed in body["replayed"]:
        assert (await stack.wait_for(tenant, replayed["jobRunId"]))["status"] == "COMPLETED"
    again = await stack.client.post("/api/dead-letters/replay", json={}, headers=tenant.headers)
    assert again.json()["matched"] == 0, "replayed letters are not taken again"


async def test_bulk_cancel_cancels_queued_runs_of_the_org(services: Services) -> None:
    async with start_stack(
        services, f"bulk-{uuid.uuid4().hex[:8]}-", queue_workers_enabled=False
    ) as stack:
        tenant, other = await stack.new_tenant(), await stack.new_tenant()
        mine = [
            await stack.start_export(tenant, {"entity": entity})
            for entity in ("sessions", "job_runs")
        ]
        theirs = await stack.start_export(other, SESSIONS)
        response = await stack.client.post(
            "/api/job-runs/cancel", json={"jobName": "export"}, headers=tenant.headers
        )
        async with in_process_worker(stack, TaskQueue.EXPORTS):
            ended = [await stack.wait_for(tenant, m["jobRunId"]) for m in mine]
            untouched = await stack.wait_for(other, theirs["jobRunId"])

    body = response.json()
    assert body["matched"] == 2 and body["failed"] == []
    assert {c["jobRunId"] for c in body["cancelled"]} == {m["jobRunId"] for m in mine}
    assert [run["status"] for run in ended] == ["CANCELLED", "CANCELLED"]
    assert untouched["status"] == "COMPLETED"
