r"""AI task benchmark: one worker's throughput against a model with a fixed latency.

Run `.venv/bin/python -m bench.ai_tasks` from the repository root. It
measures at concurrency 8 and at the default AI_MAX_CONCURRENT_ACTIVITIES
(32); `--concurrency 4,8,16` picks others, and `--repeat 3` measures each
three times and keeps the median (the machine is shared). Everything runs on
this machine, in a temporary folder, on free ports: embedded PostgreSQL,
SeaweedFS and a Temporal dev server, the API, the tests' OpenAI-compatible
stub (`tests/openai_stub.py`, served from this process) answering every call
after `--latency` seconds, and, for each measurement, a fresh worker serving
only the `ai` queue with AI_MAX_CONCURRENT_ACTIVITIES set to the concurrency
measured (the most model calls it has in flight).

Each measurement warms the fresh worker up with `--warmup` tasks, then submits
`--tasks` SUMMARIZE tasks with distinct contents (so deduplication merges none)
through `POST /api/ai-tasks`, `--in-flight` requests at a time, and waits until
every one is DONE. It fails unless the stub answered exactly one call per task
(no retries), never more than the concurrency at once, and every task is DONE.

How to read it: with C model calls at once and L seconds per model call, no
worker finishes T tasks sooner than the ideal T x L / C. `wall` runs from
sending the first request to the last task's `finished_at` (PostgreSQL's clock,
which is this machine's), and `ratio = ideal / wall` (goal >= 0.8). The columns
after it say where the rest went: `submit` is how long the API took to accept
every task, `1st call` how long after the first request the stub saw the first
model call, `peak` the most calls the stub was answering at once (C at best),
`answer` how long the stub took per call as it measured it (the latency, plus
any wait for its own busy process), and `tail` the time from the last answer
to the last task DONE. A second table gives the CPU time each part of the
stack spent per task, and how busy the machine's CPUs were: where the stack
shares a small machine, that, not the concurrency, sets the ceiling.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI, Request, Response
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue as TaskQueueRef
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench import common
from bench.common import in_scratch_stack, load_average, positive, say, start_api, start_stack
from conveyor import devstack
from conveyor.constants import TaskQueue
from conveyor.db import asyncpg_dsn
from conveyor.settings import Settings
from tests.openai_stub import OpenAIStub, running_stub

ORG = "bench-ai"
RATIO_GOAL = 0.8
POLL_SECONDS = 0.05
READY_TIMEOUT_SECONDS = 60
DEFAULT_CONCURRENCY: list[int] = [8, Settings.model_fields["ai_max_concurrent_activities"].default]
FILLER = (
    "The quarterly review covers shipping delays, a new supplier in Rotterdam, the support"
    " backlog after the March release, and the plan to move invoicing to the new ledger."
)


@dataclass
class CountingStub(OpenAIStub):
    """The tests' stub, also noting when each call arrived and the most answered at once."""

    arrivals: list[float] = field(default_factory=list)
    answer_seconds: list[float] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0

    def app(self) -> FastAPI:
        app = super().app()
        app.middleware("http")(self._count)
        return app

    async def _count(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        arrived = time.time()
        self.arrivals.append(arrived)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await call_next(request)
        finally:
            self.in_flight -= 1
            self.answer_seconds.append(time.time() - arrived)

    def clear(self) -> None:
        """Forgets past calls; unlike `reset`, keeps the latency."""
        self.requests.clear()
        self.usages.clear()
        self.arrivals.clear()
        self.answer_seconds.clear()
        self.peak = 0


@dataclass(frozen=True)
class Bench:
    """What every measurement shares: the stack, its clients and the options."""

    args: argparse.Namespace
    settings: Settings
    env: dict[str, str]
    workdir: Path
    http: httpx.AsyncClient
    db: asyncpg.Connection
    temporal: Client
    stub: CountingStub

    @property
    def queue(self) -> str:
        return self.settings.task_queue(TaskQueue.AI)


@dataclass(frozen=True)
class Batch:
    """One batch of tasks, in epoch seconds: the first request, the last 202, the last DONE;
    and the CPU seconds each part of the stack spent on it."""

    started: float
    accepted: float
    finished: float
    cpu: dict[str, float]


@dataclass(frozen=True)
class Measurement:
    concurrency: int
    tasks: int
    latency: float
    wall: float
    submit: float
    first_call: float
    peak_calls: int
    answer: float
    tail: float
    cpu: dict[str, float]

    @property
    def ideal(self) -> float:
        return self.tasks * self.latency / self.concurrency

    @property
    def ratio(self) -> float:
        return self.ideal / self.wall

    @property
    def jobs_per_second(self) -> float:
        return self.tasks / self.wall

    @property
    def busy(self) -> float:
        """How much of the machine's CPU time the whole stack used during the run."""
        return sum(self.cpu.values()) / (self.wall * (os.cpu_count() or 1))

    def cpu_ms_per_task(self, part: str) -> float:
        return self.cpu[part] * 1000 / self.tasks


def child_env(settings: Settings, openai_base_url: str, log_level: str) -> dict[str, str]:
    """What the API and worker subprocesses need to find the stack and the stub."""
    return {
        **common.child_env(settings),
        "OPENAI_API_KEY": "bench",
        "OPENAI_BASE_URL": openai_base_url,
        "LOG_LEVEL": log_level,
    }


async def polls_both(temporal: Client, queue: str, pid: int) -> bool:
    """Whether the worker process `pid` polls `queue` for workflow and activity tasks."""
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        described = await temporal.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=temporal.namespace,
                task_queue=TaskQueueRef(name=queue),
                task_queue_type=kind,
            )
        )
        if not any(p.identity.startswith(f"{pid}@") for p in described.pollers):
            return False
    return True


async def start_worker(bench: Bench, concurrency: int, log_path: Path) -> devstack.Service:
    """A fresh `ai` worker, once Temporal sees it polling (its log is quiet at WARNING)."""
    command = [sys.executable, "-m", "conveyor.cli", "worker", "--queues", TaskQueue.AI.value]
    env = {**bench.env, "AI_MAX_CONCURRENT_ACTIVITIES": str(concurrency)}
    worker = devstack.spawn("worker", command, log_path, env)
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            while not await polls_both(bench.temporal, bench.queue, worker.process.pid):
                if worker.process.poll() is not None:
                    raise RuntimeError(f"the worker exited early:\n{log_tail(log_path)}")
                await asyncio.sleep(0.2)
    except TimeoutError:
        worker.stop()
        raise RuntimeError(f"the worker did not poll within {READY_TIMEOUT_SECONDS}s") from None
    except BaseException:
        worker.stop()
        raise
    return worker


def log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-2000:]


def task_contents(count: int, label: str) -> list[str]:
    """Distinct texts, so that no two tasks share a dedupe key."""
    return [f"Document {index} of {label}. {FILLER}" for index in range(count)]


async def submit(http: httpx.AsyncClient, gate: asyncio.Semaphore, content: str) -> str:
    """Starts one SUMMARIZE task; returns its id."""
    body = {"type": "SUMMARIZE", "input": {"content": content}}
    async with gate:
        response = await http.post("/api/ai-tasks", json=body)
    if response.status_code != 202 or "Idempotent-Replayed" in response.headers:
        raise RuntimeError(f"submission answered {response.status_code}: {response.text[:300]}")
    task_id: str = response.json()["aiTaskId"]
    return task_id


async def submit_all(bench: Bench, contents: list[str]) -> tuple[list[str], float]:
    """Submits every task, `--in-flight` at a time; returns their ids and the last 202's time."""
    gate = asyncio.Semaphore(bench.args.in_flight)
    ids = await asyncio.gather(*(submit(bench.http, gate, content) for content in contents))
    return list(ids), time.time()


async def wait_until_done(db: asyncpg.Connection, ids: list[str]) -> float:
    """Polls until every task is DONE; returns the last one's `finished_at` in epoch seconds."""
    while True:
        done, failed, finished = await db.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'DONE'),"
            " count(*) FILTER (WHERE status IN ('FAILED', 'CANCELLED')),"
            " extract(epoch FROM max(finished_at))::float8"
            " FROM ai_tasks WHERE id = ANY($1::uuid[])",
            ids,
        )
        if failed:
            errors = await db.fetch(
                "SELECT DISTINCT error FROM ai_tasks"
                " WHERE id = ANY($1::uuid[]) AND error IS NOT NULL",
                ids,
            )
            raise RuntimeError(f"{failed} tasks failed: {[row['error'] for row in errors]}")
        if done == len(ids):
            return float(finished)
        await asyncio.sleep(POLL_SECONDS)


async def drain(temporal: Client, queue: str) -> None:
    """Waits until the queue's workflows have closed, so the next worker inherits none."""
    query = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"
    # Temporal offers nothing to wait on for this: poll it.
    while (await temporal.count_workflows(query)).count > 0:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


async def run_batch(bench: Bench, contents: list[str], concurrency: int) -> Batch:
    """Submits `contents` as tasks and waits for all of them, checking one model call each."""
    bench.stub.clear()
    timeout = max(120.0, 20 * len(contents) * bench.args.latency)
    before = common.cpu_snapshot()
    started = time.time()
    ids, accepted = await submit_all(bench, contents)
    try:
        async with asyncio.timeout(timeout):
            finished = await wait_until_done(bench.db, ids)
            await drain(bench.temporal, bench.queue)
    except TimeoutError:
        raise RuntimeError(f"{len(ids)} tasks not all done within {timeout:.0f}s") from None
    if len(bench.stub.requests) != len(contents):
        raise RuntimeError(f"the stub got {len(bench.stub.requests)} calls for {len(ids)} tasks")
    if bench.stub.peak > concurrency:
        raise RuntimeError(f"{bench.stub.peak} calls at once; the worker's cap is {concurrency}")
    return Batch(started, accepted, finished, common.cpu_by_part(before, common.cpu_snapshot()))


async def measure(bench: Bench, concurrency: int, label: str) -> Measurement:
    """Runs `--tasks` tasks through a fresh worker with `concurrency` activity slots."""
    args = bench.args
    worker = await start_worker(bench, concurrency, bench.workdir / "logs" / f"worker-{label}.log")
    try:
        await run_batch(bench, task_contents(args.warmup, f"warm-up {label}"), concurrency)
        batch = await run_batch(bench, task_contents(args.tasks, f"run {label}"), concurrency)
    finally:
        await asyncio.to_thread(worker.stop)
    arrivals = bench.stub.arrivals
    return Measurement(
        concurrency=concurrency,
        tasks=args.tasks,
        latency=args.latency,
        wall=batch.finished - batch.started,
        submit=batch.accepted - batch.started,
        first_call=min(arrivals) - batch.started,
        peak_calls=bench.stub.peak,
        answer=statistics.mean(bench.stub.answer_seconds),
        tail=batch.finished - (max(arrivals) + args.latency),
        cpu=batch.cpu,
    )


async def median_measurement(bench: Bench, concurrency: int) -> Measurement:
    """The median (by wall time) of `--repeat` measurements at `concurrency`."""
    runs = []
    for attempt in range(bench.args.repeat):
        run = await measure(bench, concurrency, f"c{concurrency}-{attempt + 1}")
        say(
            f"  concurrency {concurrency}: {run.wall:.2f}s, ratio {run.ratio:.2f}"
            f" ({load_average()})"
        )
        runs.append(run)
    runs.sort(key=lambda run: run.wall)
    return runs[(len(runs) - 1) // 2]


async def measure_all(
    args: argparse.Namespace, settings: Settings, workdir: Path, services: list[devstack.Service]
) -> list[Measurement]:
    """Serves the stub from this event loop while the API and the workers call it."""
    tokens = await common.create_bench_tokens(settings.database_url, [ORG], "bench/ai_tasks.py")
    token = tokens[ORG]
    stub = CountingStub(latency=args.latency)
    async with running_stub(stub):
        env = child_env(settings, stub.base_url, args.log_level)
        api_url = await asyncio.to_thread(start_api, env, workdir, services)
        headers = {"Authorization": f"Bearer {token}"}
        temporal = await Client.connect(settings.temporal_address)
        db = await asyncpg.connect(asyncpg_dsn(settings.database_url))
        try:
            async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as http:
                bench = Bench(args, settings, env, workdir, http, db, temporal, stub)
                return [await median_measurement(bench, c) for c in args.concurrency]
        finally:
            await db.close()


def run(
    args: argparse.Namespace, workdir: Path, services: list[devstack.Service]
) -> list[Measurement]:
    # Timings are only as quiet as the machine: say how busy it already was.
    say(f"{os.cpu_count()} CPUs, {load_average()} before starting")
    say(f"Starting PostgreSQL, SeaweedFS and Temporal in {workdir}")
    settings = start_stack(workdir, services)
    return asyncio.run(measure_all(args, settings, workdir, services))


def report(args: argparse.Namespace, results: list[Measurement]) -> None:
    say(
        f"\n{args.tasks} SUMMARIZE tasks per run, model latency {args.latency * 1000:.0f} ms,"
        f" {args.in_flight} submissions in flight, {args.warmup} warm-up tasks first,"
        f" one worker; {os.cpu_count()} CPUs, {load_average()} at the end"
    )
    say(
        f"{'concurrency':>11}{'wall s':>8}{'jobs/s':>8}{'ideal s':>9}{'ratio':>7}{'goal':>6}"
        f"{'submit s':>10}{'1st call s':>12}{'peak':>6}{'answer ms':>11}{'tail s':>8}"
    )
    for m in results:
        verdict = "PASS" if m.ratio >= RATIO_GOAL else "MISS"
        say(
            f"{m.concurrency:>11}{m.wall:>8.2f}{m.jobs_per_second:>8.1f}{m.ideal:>9.2f}"
            f"{m.ratio:>7.2f}{verdict:>6}{m.submit:>10.2f}{m.first_call:>12.2f}"
            f"{m.peak_calls:>6}{m.answer * 1000:>11.0f}{m.tail:>8.2f}"
        )
    say(f"ratio = ideal / wall, ideal = tasks x latency / concurrency; goal >= {RATIO_GOAL}")
    parts = list(results[0].cpu)
    say("\nCPU per task, in ms, by part of the stack; busy = share of all CPUs the stack used")
    say(
        f"{'concurrency':>11}"
        + "".join(f"{part:>11}" for part in parts)
        + f"{'total':>8}{'busy':>7}"
    )
    for m in results:
        per_task = [m.cpu_ms_per_task(part) for part in parts]
        say(
            f"{m.concurrency:>11}" + "".join(f"{ms:>11.1f}" for ms in per_task)
            + f"{sum(per_task):>8.1f}{m.busy:>7.0%}"
        )  # fmt: skip


def concurrencies(value: str) -> list[int]:
    """`8,16,32` → [8, 16, 32]."""
    return [positive(part) for part in value.split(",") if part.strip()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=positive, default=200, help="tasks per measurement")
    parser.add_argument(
        "--latency", type=float, default=0.2, help="seconds the stub takes per model call"
    )
    parser.add_argument(
        "--concurrency",
        type=concurrencies,
        default=DEFAULT_CONCURRENCY,
        help="AI_MAX_CONCURRENT_ACTIVITIES to measure at, e.g. 4,8,16"
        f" (default {','.join(map(str, DEFAULT_CONCURRENCY))})",
    )
    parser.add_argument(
        "--in-flight", type=positive, default=20, help="submissions the client keeps in flight"
    )
    parser.add_argument(
        "--warmup", type=positive, default=10, help="tasks each fresh worker runs before timing"
    )
    parser.add_argument(
        "--repeat", type=positive, default=1, help="runs of each measurement; the median is kept"
    )
    parser.add_argument("--log-level", default="WARNING", help="LOG_LEVEL of the API and workers")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    results = in_scratch_stack(lambda workdir, services: run(args, workdir, services))
    report(args, results)


if __name__ == "__main__":
    main()
