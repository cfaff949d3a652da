"""`/metrics` of the API and of a worker process: job counters, durations, SDK metrics."""

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conveyor import devstack
from tests.helpers import Services, Stack, start_stack

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _parse(text: str) -> tuple[Samples, set[str]]:
    """Every sample by name and labels, and every family name; fails on invalid text."""
    samples: Samples = {}
    families = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, families


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


EXPORT_COMPLETED = {"job_name": "export", "status": "completed"}
COUNTED = (
    ("conveyor_jobs_submitted_total", {"job_name": "export", "outcome": "created"}),
    ("conveyor_jobs_started_total", {"job_name": "export"}),
    ("conveyor_job_queue_wait_seconds_count", {"job_name": "export"}),
    ("conveyor_jobs_finished_total", EXPORT_COMPLETED),
    ("conveyor_job_duration_seconds_count", EXPORT_COMPLETED),
)


async def _scrape(client: httpx.AsyncClient, url: str) -> tuple[Samples, set[str]]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _parse(response.text)


async def _export_completes(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    accepted = await stack.start_export(tenant, {"entity": "sessions"})
    run = await stack.wait_for(tenant, accepted["jobRunId"], within=30)
    assert run["status"] == "COMPLETED", run


async def test_api_metrics_count_a_completed_export_and_include_sdk_metrics(
    stack: Stack,
) -> None:
    before, _ = await _scrape(stack.client, "/metrics")
    await _export_completes(stack)
    after, families = await _scrape(stack.client, "/metrics")

    for name, labels in COUNTED:
        assert _value(after, name, **labels) >= _value(before, name, **labels) + 1, name
    duration_sum = "conveyor_job_duration_seconds_sum"
    assert _value(after, duration_sum, **EXPORT_COMPLETED) > _value(
        before, duration_sum, **EXPORT_COMPLETED
    )
    assert {"temporal_request", "temporal_worker_task_slots_available"} <= families
    schema = (await stack.client.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


@asynccontextmanager
async def _worker_process(
    services: Services, prefix: str, metrics_port: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "TEMPORAL_ADDRESS": services.temporal_address,
        "S3_ENDPOINT_URL": services.s3_url,
        "TASK_QUEUE_PREFIX": prefix,
        "WORKER_METRICS_PORT": str(metrics_port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "conveyor.cli", "worker", "--queues", "exports",
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    async with asyncio.timeout(30):
        while b"WorkerExportModule started" not in await process.stderr.readline():
            assert process.returncode is None, "the worker exited"
    drain = asyncio.create_task(process.stderr.read())
    try:
        yield process
    finally:
        process.terminate()
        await process.wait()
        drain.cancel()


async def test_worker_process_serves_its_job_and_sdk_metrics(services: Services) -> None:
    prefix = f"metrics-{uuid.uuid4().hex[:8]}-"
    port = devstack.free_port()
    async with (
        start_stack(services, prefix, queue_workers_enabled=False) as stack,
        _worker_process(services, prefix, port),
        httpx.AsyncClient() as http,
    ):
        await _export_completes(stack)
        samples, families = await _scrape(http, f"http://127.0.0.1:{port}/metrics")
        missing = await http.get(f"http://127.0.0.1:{port}/other")

    for name, labels in COUNTED[1:]:  # submissions are counted by the API, not here
        assert _value(samples, name, **labels) == 1, name
    assert not any(name == "conveyor_jobs_submitted_total" for name, _ in samples)
    assert {"temporal_request", "temporal_activity_execution_latency"} <= families
    assert missing.status_code == 404
