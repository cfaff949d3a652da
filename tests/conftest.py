"""Real services, started once per test session on free ports, stopped at the end.

PostgreSQL (embedded), SeaweedFS S3 and the Temporal dev server are real
servers reached over the network. Tests isolate by using a fresh org each,
and a stack (API app + in-process worker) per task-queue prefix, so a stack
with a faulty S3 link never picks up another stack's jobs.
"""

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from conveyor import devstack, migrate
from conveyor.constants import SEARCH_ATTRIBUTES
from tests.faults import FaultyProxy
from tests.helpers import Services, Stack, start_stack
from tests.openai_stub import OpenAIStub, running_stub


@pytest.fixture(scope="session")
def state_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="conveyor-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
async def services(state_dir: Path) -> AsyncIterator[Services]:
    database_url = devstack.start_postgres(state_dir / "postgres", cleanup="delete")
    await asyncio.to_thread(migrate.upgrade, database_url)
    seaweed = devstack.start_seaweedfs(state_dir / "s3")
    temporal = await WorkflowEnvironment.start_local(
        dev_server_existing_path=devstack.bin_path("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_database_filename=str(state_dir / "temporal.db"),
    )
    proxy = FaultyProxy("127.0.0.1", int(seaweed.url.rsplit(":", 1)[1]))
    await proxy.start()
    try:
        yield Services(
            database_url=database_url,
            s3_url=seaweed.url,
            temporal_address=temporal.client.service_client.config.target_host,
            proxy=proxy,
        )
    finally:
        await proxy.stop()
        await temporal.shutdown()
        seaweed.stop()


@pytest.fixture(scope="session")
async def stack(services: Services) -> AsyncIterator[Stack]:
    """The everyday stack: API and worker against S3 directly, default settings."""
    async with start_stack(services, f"main-{uuid.uuid4().hex[:8]}-") as stack:
        yield stack


@pytest.fixture
def proxy(services: Services) -> Iterator[FaultyProxy]:
    services.proxy.heal()
    yield services.proxy
    services.proxy.heal()


@pytest.fixture(scope="session")
async def faulty_stack(services: Services) -> AsyncIterator[Stack]:
    """A stack whose S3 link runs through the fault proxy; boto3 does not retry."""
    async with start_stack(
        services,
        f"faulty-{uuid.uuid4().hex[:8]}-",
        s3_endpoint_url=services.proxy.url,
        s3_max_attempts=1,
        export_part_size_mb=5,
        heartbeat_timeout_seconds=2,
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
async def openai_stub() -> AsyncIterator[OpenAIStub]:
    async with running_stub(OpenAIStub()) as stub:
        yield stub


@pytest.fixture
def stub(openai_stub: OpenAIStub) -> Iterator[OpenAIStub]:
    openai_stub.reset()
    yield openai_stub
    openai_stub.reset()


@pytest.fixture(scope="session")
async def ai_stack(services: Services, openai_stub: OpenAIStub) -> AsyncIterator[Stack]:
    """A stack whose AI tasks go to the local OpenAI-compatible stub, in small chunks."""
    async with start_stack(
        services,
        f"ai-{uuid.uuid4().hex[:8]}-",
        openai_api_key="test-key",
        openai_base_url=openai_stub.base_url,
        ai_chunk_tokens=200,
        ai_max_content_chars=20_000,
    ) as stack:
        yield stack
