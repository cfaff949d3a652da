"""Real services, started once per test session on free ports, stopped at the end.

PostgreSQL (embedded), SeaweedFS S3 and the Temporal dev server are real
servers reached over the network. Tests isolate by using a fresh org each,
and a stack (API app + in-process worker) per task-queue prefix, so a stack
with a faulty S3 link never picks up another stack's jobs.
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from conveyor import devstack, migrate
from conveyor.constants import SEARCH_ATTRIBUTES
from conveyor.email.sink import SmtpSink
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
        dev_server_extra_args=devstack.TEMPORAL_DEV_OPTIONS,
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


# An email tick serves every org of the shared database: only the email
# tests' stack, which asks for it, may have a schedule that ticks by itself.
os.environ.setdefault("EMAIL_SCHEDULE_ENABLED", "false")
EMAIL_WEBHOOK_SECRET = "test-webhook-secret"


@pytest.fixture(scope="session")
def smtp_sink(state_dir: Path) -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    sink = SmtpSink(devstack.free_port(), state_dir / "outbox").start()
    yield sink
    sink.stop()


@pytest.fixture
def sink(smtp_sink: SmtpSink) -> Iterator[SmtpSink]:
    """The session's sink with no refusals configured, before and after the test."""
    smtp_sink.handler.rejected.clear()
    smtp_sink.handler.defer_next = 0
    yield smtp_sink
    smtp_sink.handler.rejected.clear()
    smtp_sink.handler.defer_next = 0


@pytest.fixture(scope="session")
async def email_stack(services: Services, smtp_sink: SmtpSink) -> AsyncIterator[Stack]:
    """A stack whose email worker sends to the sink; ticks are started by the tests."""
    async with start_stack(
        services,
        f"email-{uuid.uuid4().hex[:8]}-",
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_starttls=False,
        smtp_timeout_seconds=5,
        email_webhook_secret=EMAIL_WEBHOOK_SECRET,
        email_public_base_url="http://conveyor",
        email_schedule_enabled=False,
    ) as stack:
        yield stack
