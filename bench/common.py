"""What every benchmark shares: its own embedded stack, the API as a subprocess, output."""

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from conveyor import devstack, migrate
from conveyor.auth import create_token
from conveyor.db import create_engine, create_session_maker
from conveyor.settings import Settings

T = TypeVar("T")


def say(message: str) -> None:
    print(message, flush=True)


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return number


def start_stack(workdir: Path, services: list[devstack.Service]) -> Settings:
    """Starts PostgreSQL, S3 and Temporal in `workdir` and migrates the database."""
    database_url = devstack.start_postgres(workdir / "postgres", cleanup="delete")
    seaweed = devstack.start_seaweedfs(workdir / "s3")
    services.append(seaweed)
    temporal = devstack.start_temporal(workdir / "temporal" / "temporal.db", headless=True)
    services.append(temporal)
    migrate.upgrade(database_url)
    return Settings(
        database_url=database_url,
        s3_endpoint_url=seaweed.url,
        temporal_address=temporal.url,
        task_queue_prefix=f"bench-{uuid.uuid4().hex[:8]}-",
    )


async def create_bench_tokens(database_url: str, orgs: list[str], script: str) -> dict[str, str]:
    """An API token per org, named after the benchmark `script` that asked."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_session_maker(engine).begin() as session:
            return {org: await create_token(session, org, "bench", script) for org in orgs}
    finally:
        await engine.dispose()


def child_env(settings: Settings) -> dict[str, str]:
    """What the API and worker subprocesses need to find the benchmark's stack."""
    return {
        "DATABASE_URL": settings.database_url,
        "S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TASK_QUEUE_PREFIX": settings.task_queue_prefix,
    }


def start_api(env: dict[str, str], workdir: Path, services: list[devstack.Service]) -> str:
    """Starts the API without in-process workers; returns its base URL."""
    port = devstack.free_port()
    command = [sys.executable, "-m", "conveyor.cli", "api", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    env = {**env, "QUEUE_WORKERS_ENABLED": "false"}
    api = devstack.spawn("api", command, workdir / "logs" / "api.log", env)
    services.append(api)
    url = f"http://127.0.0.1:{port}"
    devstack.wait_until(lambda: devstack.http_answers(url + "/healthz"), "the API", api)
    return url


def in_scratch_stack(run: Callable[[Path, list[devstack.Service]], T]) -> T:
    """Runs `run` in a temporary folder, stopping every service it started after it."""
    workdir = Path(tempfile.mkdtemp(prefix="conveyor-bench-"))
    # Registered before PostgreSQL's exit hook, so it runs after it (atexit is
    # LIFO): the server stops and deletes its data, then the rest goes.
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    services: list[devstack.Service] = []
    try:
        return run(workdir, services)
    finally:
        for service in reversed(services):
            service.stop()


# Which processes count as which part of the stack, by a piece of their command line.
STACK_PROCESSES = {
    "worker": "conveyor.cli worker",
    "API": "conveyor.cli api",
    "Temporal": "temporal server start-dev",
    "PostgreSQL": "postgres",
    "S3": "weed ",
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(proc: Path) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3 onwards)."""
    return (proc / "stat").read_text().rsplit(")", 1)[1].split()


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot, whoever used them."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    """User and system time of `pid` and of the children it has waited for (tesseract)."""
    utime, stime, cutime, cstime = (int(v) for v in _stat_fields(Path(f"/proc/{pid}"))[11:15])
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    """Every process's command line and own CPU seconds (user + system) so far."""
    snapshot = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = _stat_fields(entry)
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it exited meanwhile
        snapshot[int(entry.name)] = (command, (int(stat[11]) + int(stat[12])) / CLOCK_TICKS)
    return snapshot


def cpu_by_part(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds each part of the stack used between two snapshots; this process
    (the benchmark's client, and whatever it serves) counts as "bench"."""
    used = dict.fromkeys([*STACK_PROCESSES, "bench"], 0.0)
    for pid, (command, seconds) in after.items():
        spent = seconds - before.get(pid, (command, 0.0))[1]
        if pid == os.getpid():
            used["bench"] += spent
            continue
        part = next((p for p, marker in STACK_PROCESSES.items() if marker in command), None)
        if part is not None:
            used[part] += spent
    return used
