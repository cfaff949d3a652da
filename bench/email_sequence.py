"""Email benchmark: one tick sending N due steps vs a bare aiosmtplib loop, same sink.

Run `.venv/bin/python -m bench.email_sequence` (1,000 messages; `--messages`, and
`--repeat 3` to keep the median of three runs, as the machine is shared).
Everything runs here, in a temporary folder, on free ports: embedded
PostgreSQL, a Temporal dev server, an email worker in this process, and the
SMTP sink (`python -m conveyor.email.sink`, writing every message to disk)
in a process of its own.

1. The bare loop: the same N messages (rendered beforehand, with the same
   headers), sent one after another over one `aiosmtplib` connection.
2. The tick: N enrollments whose first step is due; one `email_tick`
   workflow claims them, records a delivery per message, sends, and advances
   each enrollment, from its start to its COMPLETED result.

How to read it: `tick / bare` is the tick's messages/s over the loop's; the
goal is at least 0.8 (the database work and Temporal cost at most 20%).
"""

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiosmtplib
import asyncpg
from temporalio.client import Client

from conveyor import devstack, migrate
from conveyor.constants import TaskQueue
from conveyor.db import asyncpg_dsn, create_engine, create_session_maker
from conveyor.email import signing
from conveyor.email.message import address_of, build_message, message_id
from conveyor.email.schedule import start_tick
from conveyor.email.templates import StepTemplate, render
from conveyor.settings import Settings
from conveyor.storage import create_s3_client
from worker.main import WorkerDeps, build_workers

GOAL = 0.8
SENDER = "Acme <hello@acme.test>"
ORG = "bench-email"
TEMPLATE = StepTemplate(
    "Welcome, {{ first_name }}",
    "Hi {{ first_name }}, thanks for joining {{ company }}.\n\nSee you soon.",
    "<p>Hi <b>{{ first_name }}</b>, thanks for joining {{ company }}.</p>",
)


def say(message: str) -> None:
    print(message, flush=True)


def start_services(workdir: Path, services: list[devstack.Service]) -> Settings:
    database_url = devstack.start_postgres(workdir / "postgres", cleanup="delete")
    temporal = devstack.start_temporal(workdir / "temporal" / "temporal.db", headless=True)
    services.append(temporal)
    port = devstack.free_port()
    command = [sys.executable, "-m", "conveyor.email.sink", "--port", str(port)]
    sink = devstack.spawn(
        "smtp-sink", [*command, "--dir", str(workdir / "outbox")], workdir / "sink.log"
    )
    services.append(sink)
    devstack.wait_until(lambda: not devstack.port_is_free(port), "the SMTP sink", sink)
    migrate.upgrade(database_url)
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        temporal_address=temporal.url,
        s3_endpoint_url="http://127.0.0.1:9",  # the email worker never touches S3
        task_queue_prefix=f"bench-{uuid.uuid4().hex[:8]}-",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        email_webhook_secret="bench-secret",
        email_schedule_enabled=False,
    )


def outbox_count(workdir: Path) -> int:
    return sum(1 for _ in (workdir / "outbox").glob("*.eml"))


async def bare_loop(settings: Settings, count: int) -> float:
    """Seconds to send `count` messages, rendered beforehand, over one connection in turn."""
    key = signing.unsubscribe_key(settings)
    messages = []
    for i in range(count):
        enrollment_id = uuid.uuid4()
        url = signing.unsubscribe_url(settings, key, enrollment_id)
        variables = {"first_name": f"User {i}", "company": "Acme", "unsubscribe_url": url}
        message = build_message(
            render(TEMPLATE, variables), sender=SENDER, recipient=f"bare{i}@bench.test",
            message_id=message_id(enrollment_id, 1, SENDER), unsubscribe_url=url,
            uses_unsubscribe_url=False,
        )  # fmt: skip
        messages.append((f"bare{i}@bench.test", message))
    client = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, start_tls=False)
    started = time.perf_counter()
    await client.connect()
    for recipient, message in messages:
        await client.sendmail(address_of(SENDER), [recipient], message)
    await client.quit()
    return time.perf_counter() - started


async def seed_due(settings: Settings, count: int) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        sequence_id = await connection.fetchval(
            "INSERT INTO email_sequences (org_id, user_id, name, sender)"
            " VALUES ($1, 'bench', 'bench', $2) RETURNING id",
            ORG,
            SENDER,
        )
        await connection.execute(
            "INSERT INTO sequence_steps (org_id, sequence_id, position, delay_seconds, subject,"
            " body_text, body_html) VALUES ($1, $2, 1, 0, $3, $4, $5)",
            ORG, sequence_id, TEMPLATE.subject, TEMPLATE.body_text, TEMPLATE.body_html,
        )  # fmt: skip
        await connection.execute(
            "INSERT INTO sequence_enrollments (org_id, sequence_id, email, variables, next_run_at)"
            " SELECT $1, $2, 'user' || i || '-' || $4 || '@bench.test',"
            " jsonb_build_object('first_name', 'User ' || i, 'company', 'Acme'), now()"
            " FROM generate_series(1, $3) AS i",
            ORG, sequence_id, count, uuid.uuid4().hex[:6],
        )  # fmt: skip
        await connection.execute("VACUUM ANALYZE sequence_enrollments")
    finally:
        await connection.close()


async def one_tick(settings: Settings, client: Client) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    handle = await start_tick(client, settings)
    result = await handle.result()
    return time.perf_counter() - started, dict(result)


async def run(settings: Settings, workdir: Path, count: int, repeat: int) -> None:
    engine = create_engine(settings.database_url)
    client = await Client.connect(settings.temporal_address)
    deps = WorkerDeps(settings, create_session_maker(engine), create_s3_client(settings))
    bare_times, tick_times = [], []
    async with build_workers(client, deps, [TaskQueue.EMAIL])[0]:
        await one_tick(settings, client)  # warm up: worker, schedule-less tick, connections
        for round_ in range(1, repeat + 1):
            before = outbox_count(workdir)
            bare = await bare_loop(settings, count)
            await seed_due(settings, count)
            tick, result = await one_tick(settings, client)
            received = outbox_count(workdir) - before
            assert result["sent"] == count and received == 2 * count, (result, received)
            bare_times.append(bare)
            tick_times.append(tick)
            say(
                f"  round {round_}: bare loop {count / bare:,.0f} msg/s ({bare:.2f}s),"
                f" tick {count / tick:,.0f} msg/s ({tick:.2f}s, {result['batches']} batches)"
            )
    await engine.dispose()
    bare, tick = statistics.median(bare_times), statistics.median(tick_times)
    ratio = bare / tick
    verdict = "met" if ratio >= GOAL else "MISSED"
    say(f"\nmessages per run       {count:,}")
    say(f"bare aiosmtplib loop   {count / bare:,.0f} msg/s")
    say(f"one email tick         {count / tick:,.0f} msg/s")
    say(f"tick / bare            {ratio:.2f}   (goal >= {GOAL}: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="conveyor-bench-email-"))
    services: list[devstack.Service] = []
    try:
        say(f"starting services in {workdir} ...")
        settings = start_services(workdir, services)
        asyncio.run(run(settings, workdir, args.messages, args.repeat))
    finally:
        for service in reversed(services):
            service.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
