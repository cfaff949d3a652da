"""Live status over Server-Sent Events, driven by PostgreSQL LISTEN/NOTIFY."""

import asyncio
import json
import uuid
from typing import Any

import asyncpg

from conveyor.db import asyncpg_dsn
from conveyor.jobs.events import JobRunEvents
from conveyor.seed import seed_sessions
from tests.faults import FaultyProxy
from tests.helpers import Stack


def parse_sse(body: str) -> list[dict[str, Any]]:
    """Each event's job run, with its SSE `event` name and `eventId`."""
    events = []
    for block in body.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        fields = dict(line.split(": ", 1) for line in lines)
        if fields:
            run = json.loads(fields["data"])
            events.append({**run, "event": fields["event"], "eventId": fields["id"]})
    return events


async def test_sse_streams_every_transition_of_an_export(
    faulty_stack: Stack, proxy: FaultyProxy
) -> None:
    stack = faulty_stack
    tenant = await stack.new_tenant()
    await seed_sessions(asyncpg_dsn(stack.settings.database_url), tenant.org_id, 30_000)
    proxy.throttle(2_000_000)
    accepted = await stack.start_export(tenant, {"entity": "sessions"})
    response = await stack.client.get(
        f"/api/job-runs/{accepted['jobRunId']}/events", headers=tenant.headers
    )

    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert [e["event"] for e in events[:-1]] == ["job_run"] * (len(events) - 1)
    assert events[-1]["event"] == "end"
    assert events[-1]["status"] == "COMPLETED" and events[-1]["progress"] == 100
    assert events[-1]["result"]["rowCount"] == 30_000
    running = [e["progress"] for e in events if e["status"] == "RUNNING"]
    assert running == sorted(running) and any(0 < p < 100 for p in running)
    assert len({e["eventId"] for e in events}) == len(events)

    resumed = await stack.client.get(
        f"/api/job-runs/{accepted['jobRunId']}/events",
        headers={**tenant.headers, "Last-Event-ID": events[1]["eventId"]},
    )
    assert [(e["event"], e["status"]) for e in parse_sse(resumed.text)] == [("end", "COMPLETED")]
    done = await stack.client.get(
        f"/api/job-runs/{accepted['jobRunId']}/events",
        headers={**tenant.headers, "Last-Event-ID": events[-1]["eventId"]},
    )
    assert done.status_code == 204


async def test_changes_arrive_by_notify(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    accepted = await stack.start_export(tenant, {"entity": "sessions"})
    await stack.wait_for(tenant, accepted["jobRunId"])
    hub = JobRunEvents(asyncpg_dsn(stack.settings.database_url))
    await hub.start()
    try:
        async with hub.subscribe(accepted["jobRunId"]) as changed:
            connection = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
            try:
                await connection.execute(
                    "UPDATE job_runs SET progress = 42 WHERE id = $1",
                    uuid.UUID(accepted["jobRunId"]),
                )
            finally:
                await connection.close()
            await asyncio.wait_for(changed.get(), timeout=5)
    finally:
        await hub.stop()


async def test_another_orgs_stream_is_404(stack: Stack) -> None:
    owner, intruder = await stack.new_tenant(), await stack.new_tenant()
    accepted = await stack.start_export(owner, {"entity": "sessions"})
    response = await stack.client.get(
        f"/api/job-runs/{accepted['jobRunId']}/events", headers=intruder.headers
    )
    assert response.status_code == 404
