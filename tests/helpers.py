"""Building blocks the tests share: stacks, tenants, polling, downloads."""

import asyncio
import contextlib
import csv
import io
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from api.main import create_app
from conveyor.auth import create_token
from conveyor.constants import TaskQueue
from conveyor.db import SessionMaker, asyncpg_dsn
from conveyor.settings import Settings
from conveyor.storage import create_s3_client
from tests.faults import FaultyProxy
from worker.main import WorkerDeps, build_workers

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class Services:
    database_url: str
    s3_url: str
    temporal_address: str
    proxy: FaultyProxy


@dataclass(frozen=True)
class Tenant:
    org_id: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Stack:
    """An API app with its in-process workers, reached through HTTP (ASGI)."""

    settings: Settings
    client: httpx.AsyncClient
    session_maker: SessionMaker

    async def new_tenant(self, user_id: str = "user-1") -> Tenant:
        org_id = f"org-{uuid.uuid4().hex[:10]}"
        async with self.session_maker.begin() as session:
            token = await create_token(session, org_id, user_id)
        return Tenant(org_id, user_id, token)

    async def start_export(
        self, tenant: Tenant, body: dict[str, Any], **headers: str
    ) -> dict[str, Any]:
        return await self.start("/api/exports", tenant, body, **headers)

    async def start(
        self, path: str, tenant: Tenant, body: dict[str, Any], **headers: str
    ) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers={**tenant.headers, **headers})
        assert response.status_code == 202, response.text
        result: dict[str, Any] = response.json()
        return result

    async def get(self, tenant: Tenant, path: str) -> Any:
        response = await self.client.get(path, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def job_run(self, tenant: Tenant, job_run_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/job-runs/{job_run_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def wait_for(
        self,
        tenant: Tenant,
        job_run_id: str,
        statuses: tuple[str, ...] = TERMINAL,
        within: float = 60,
        progress_at_least: int | None = None,
    ) -> dict[str, Any]:
        """Polls the job run until it reaches one of `statuses` (and progress)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            run = await self.job_run(tenant, job_run_id)
            reached = run["status"] in statuses and (
                progress_at_least is None or run["progress"] >= progress_at_least
            )
            if reached:
                return run
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"job run still {run['status']} after {within}s: {run}")
            await asyncio.sleep(0.1)

    async def download(self, tenant: Tenant, file_object_id: str) -> bytes:
        response = await self.client.get(
            f"/api/file-objects/{file_object_id}/download", headers=tenant.headers
        )
        assert response.status_code == 307, response.text
        async with httpx.AsyncClient() as s3:
            file = await s3.get(response.headers["location"])
        assert file.status_code == 200
        return file.content

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self._connection() as connection:
            return list(await connection.fetch(query, *args))

    async def sql_many(self, query: str, rows: list[tuple[Any, ...]]) -> None:
        async with self._connection() as connection:
            await connection.executemany(query, rows)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        connection = await asyncpg.connect(
            asyncpg_dsn(self.settings.database_url), server_settings={"timezone": "UTC"}
        )
        try:
            yield connection
        finally:
            await connection.close()


@contextlib.asynccontextmanager
async def in_process_worker(stack: Stack, queue: TaskQueue) -> AsyncIterator[None]:
    """A worker for one queue of `stack`, for stacks started without workers."""
    client = await Client.connect(stack.settings.temporal_address)
    deps = WorkerDeps(stack.settings, stack.session_maker, create_s3_client(stack.settings))
    async with build_workers(client, deps, [queue])[0]:
        yield


def stack_settings(services: Services, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": services.database_url,
        "temporal_address": services.temporal_address,
        "s3_endpoint_url": services.s3_url,
        "task_queue_prefix": prefix,
        "retry_initial_interval_seconds": 0.1,
        "retry_max_interval_seconds": 0.5,
        "heartbeat_timeout_seconds": 5,
        "log_level": "INFO",
        # Catches a non-deterministic call in workflow code.
        "workflow_sandbox": True,
        # Tests run retention themselves, when they mean to.
        "retention_schedule_enabled": False,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def start_stack(services: Services, prefix: str, **overrides: Any) -> AsyncIterator[Stack]:
    settings = stack_settings(services, prefix, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://conveyor") as client:
            yield Stack(settings, client, app.state.session_maker)


@dataclass
class WorkerProcess:
    """A `conveyor worker` process and the JSON lines it has logged so far."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def worker_process(
    services: Services, prefix: str, queues: str = "exports", **env: str
) -> AsyncIterator[WorkerProcess]:
    """`conveyor worker` as its own process, ready once it logs its module line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "conveyor.cli", "worker", "--queues", queues,
        env={
            **os.environ,
            "DATABASE_URL": services.database_url,
            "TEMPORAL_ADDRESS": services.temporal_address,
            "S3_ENDPOINT_URL": services.s3_url,
            "TASK_QUEUE_PREFIX": prefix,
            "EXPORT_PART_SIZE_MB": "5",
            "WORKFLOW_SANDBOX": "true",
            **env,
        },
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    worker = WorkerProcess(process)
    reader = asyncio.create_task(_collect_lines(worker))
    try:
        # Generous: on a loaded 2-core machine imports and connecting take a while.
        async with asyncio.timeout(90):
            await worker.ready.wait()
        yield worker
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        await reader


async def _collect_lines(worker: WorkerProcess) -> None:
    assert worker.process.stderr is not None
    while line := await worker.process.stderr.readline():
        worker.lines.append(line.decode(errors="replace"))
        if "started task_queue=" in worker.lines[-1]:
            worker.ready.set()


async def assert_one_complete_export(
    stack: Stack, org_id: str, run: dict[str, Any], rows: int
) -> None:
    """The org has exactly one exported file, the run's, with every row once
    and no multipart upload left open."""
    files = await stack.sql("SELECT id, key FROM file_objects WHERE org_id = $1", org_id)
    assert [str(f["id"]) for f in files] == [run["result"]["fileObjectId"]]
    s3 = create_s3_client(stack.settings)
    key = files[0]["key"]
    body = (await asyncio.to_thread(s3.get_object, Bucket="conveyor", Key=key))["Body"].read()
    lines = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert len(lines) == rows + 1 == run["result"]["rowCount"] + 1
    assert len({line[0] for line in lines[1:]}) == rows
    uploads = await asyncio.to_thread(s3.list_multipart_uploads, Bucket="conveyor", Prefix=key)
    assert uploads.get("Uploads", []) == []
