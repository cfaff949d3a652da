"""A request's id reaches the workflow and every activity, in the worker's JSON logs."""

import json
import uuid
from typing import Any

from tests.conftest import Services
from tests.helpers import start_stack, worker_process


async def test_request_id_appears_in_the_workers_log_lines(services: Services) -> None:
    prefix = f"corr-{uuid.uuid4().hex[:8]}-"
    request_id = f"req-{uuid.uuid4()}"
    async with start_stack(services, prefix, queue_workers_enabled=False) as stack:
        tenant = await stack.new_tenant()
        async with worker_process(services, prefix) as worker:
            accepted = await stack.start_export(
                tenant, {"entity": "sessions"}, **{"X-Request-ID": request_id}
            )
            await stack.wait_for(tenant, accepted["jobRunId"])
        lines = [_json(line) for line in worker.lines]

    tagged = [line for line in lines if line and line.get("correlation_id") == request_id]
    loggers = {line["logger"] for line in tagged}
    assert {"temporalio.workflow", "conveyor.activity"} <= loggers
    activity_lines = [line["message"] for line in tagged if line["logger"] == "conveyor.activity"]
    assert "stream_export attempt 1 completed" in " ".join(activity_lines)
    assert "finish_job attempt 1 started" in activity_lines
    for line in tagged:
        assert line["org_id"] == tenant.org_id
        assert line["job_id"] == accepted["jobId"]
        assert line["job_name"] == "export"


def _json(line: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(line)
    except json.JSONDecodeError:
        return None  # the dev server's or a library's own non-JSON output
    return parsed if isinstance(parsed, dict) else None
