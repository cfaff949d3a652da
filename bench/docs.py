r"""Document ingest benchmark: pages/s through the worker against the bare tools.

Run `.venv/bin/python -m bench.docs` from the repository root (about three
minutes on 2 cores); `--smoke` is a quick run with few pages, `--repeat 3` runs
each pair of measurements three times and keeps the median ratio (the machine
is shared), `--profile` says where the worker's time went. Everything runs on
this machine, in a temporary folder, on free ports: embedded PostgreSQL,
SeaweedFS and a Temporal dev server, the API, and one worker process (or
`--workers`) serving only the `docs` queue with DOC_OCR_DPI=`--dpi`,
DOC_PAGES_PER_BATCH=`--batch` and DOC_MAX_CONCURRENT_ACTIVITIES=`--concurrency`
(0, the default: four per core).

Inputs, made here: `--text-files` PDFs of `--text-pages` pages, each page 36
lines of prose in Helvetica (reportlab, as the tests make them), and
`--scanned-pages` image-only pages, four to a PDF: A4 at 150 DPI, 11 pt text
drawn by Pillow, as a scanner would produce them.

Through the worker: every file is uploaded with `POST /api/documents?ingest=true`
(four uploads in flight); the time runs from the first request to the last job
run's `finished_at` (PostgreSQL's clock, which is this machine's). Then every
document must be DONE with all its pages, text pages read from their text
layer, scanned pages by OCR with at least 90% of each page's words found;
anything else fails the run. A warm-up of one file of each kind goes first.

The baselines do the same work with the bare tools, one page after another:

* text: for each file, `PdfReader` and `page.extract_text()` for every page, in
  this process.
* scanned: for each page, what the worker does for it, serially: render the
  page with pypdfium2 at `--dpi` (as `conveyor.documents.extract` does), save
  it as PNG (what pytesseract hands tesseract), then one `tesseract page.png
  stdout` process with OMP_THREAD_LIMIT=1, as the worker runs it. Rendering is
  in the baseline because the worker must render too: leaving it out would
  charge the worker for work the baseline skipped. The `tesseract alone` row
  and ratio leave it out anyway, as the strictest reading of the issue.

For reference only, `--ceiling` times the same render-and-tesseract pages one
per core at once in this process (the most any worker could get out of this
machine, with no queue, database or S3), and `--own-threads` the serial
baseline with tesseract's OpenMP threads on every core.

Each worker run is followed at once by its baseline, and each ratio compares
that pair, so both sides see about the same machine.

How to read it: `ratio = worker pages/s / baseline pages/s`. pypdf holds the
GIL, so on text the worker cannot beat one core: the ratio says what uploads,
queueing, S3, the database and re-opening the PDF per batch cost (goal >= 0.8).
OCR runs in processes, so on scans the worker can approach one page per core at
once (goal >= 1.8 on 2 cores). `CPU s/page` is the CPU time of the work
measured per page: the worker's and its tesseract processes', or this process's
and its tesseract processes'; worker over baseline is the worker's overhead,
whatever the machine's load. `own CPU` is that CPU time over the wall time and
all cores; `machine busy` is how busy all cores were meanwhile, by anyone. When
the machine is near 100% busy but the worker's own share is well below it,
other programs had the cores, and the wall-clock ratios understate the worker.
"""

import argparse
import asyncio
import dataclasses
import io
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

import asyncpg
import httpx
import pypdfium2
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfReader
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench.common import (
    child_env,
    create_bench_tokens,
    in_scratch_stack,
    load_average,
    machine_busy_seconds,
    positive,
    process_cpu_seconds,
    say,
    start_api,
    start_stack,
)
from conveyor import devstack
from conveyor.constants import JobStatus, TaskQueue
from conveyor.db import asyncpg_dsn
from conveyor.settings import Settings
from tests.sample_documents import text_pdf

ORG = "bench-docs"
TEXT_RATIO_GOAL = 0.8
SCANNED_RATIO_GOAL = 1.8
WORD_RECALL_GOAL = 0.9
WORKER_READY = "WorkerDocModule started"
POLL_SECONDS = 0.05
UPLOADS_IN_FLIGHT = 4
SCANS_PER_FILE = 4
LINES_PER_TEXT_PAGE = 36
LINES_PER_SCAN = 40
SCAN_SIZE = (1240, 1754)  # A4 at 150 DPI
SCAN_DPI = 150
SCAN_FONT_PX = 23  # 11 pt at 150 DPI
CPUS = os.cpu_count() or 1
DEFAULT_DPI: int = Settings.model_fields["doc_ocr_dpi"].default
DEFAULT_BATCH: int = Settings.model_fields["doc_pages_per_batch"].default
VOCABULARY = (
    "the quarterly review covers shipping delays and a new supplier in Rotterdam while"
    " support worked through the backlog after the March release invoices were moved to"
    " the new ledger customers asked for faster refunds warehouse staff counted pallets"
    " every morning contract terms changed for freight carriers across northern Europe"
    " finance approved the budget for three more engineers before the summer holidays"
).split()


@dataclasses.dataclass(frozen=True)
class Document:
    name: str
    data: bytes
    pages: int
    # Each page's words, for scans only: what OCR must find.
    words: list[set[str]]


@dataclasses.dataclass(frozen=True)
class Run:
    """One measurement, and how busy the whole machine was meanwhile."""

    seconds: float
    pages: int
    # The measured work's own CPU: the worker and its tesseracts, or this
    # process and its tesseracts.
    cpu_seconds: float
    machine_busy: float
    render: float = 0.0
    uploads: float = 0.0
    job_ids: tuple[str, ...] = ()

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds

    @property
    def cpu_per_page(self) -> float:
        return self.cpu_seconds / self.pages

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.seconds / CPUS


@dataclasses.dataclass(frozen=True)
class Pair:
    """A worker run and the baseline run right after it."""

    worker: Run
    baseline: Run

    @property
    def ratio(self) -> float:
        return self.worker.pages_per_second / self.baseline.pages_per_second

    @property
    def ocr_only_ratio(self) -> float:
        """Against tesseract alone, the baseline's rendering left out."""
        ocr_seconds = self.baseline.seconds - self.baseline.render
        return self.worker.pages_per_second * ocr_seconds / self.baseline.pages


@dataclasses.dataclass(frozen=True)
class Results:
    text: list[Pair]
    scanned: list[Pair]
    # Reference measurements of the scanned pages, when asked for.
    extras: list[tuple[str, Run]]


# CPU accounting


def processes_cpu_seconds(pids: tuple[int, ...]) -> float:
    return sum(process_cpu_seconds(pid) for pid in pids)


@dataclasses.dataclass(frozen=True)
class Meter:
    """The clocks at the start of a measurement of processes `pids`."""

    pids: tuple[int, ...]
    wall: float
    machine: float
    own: float

    @classmethod
    def start(cls, *pids: int) -> "Meter":
        return cls(pids, time.time(), machine_busy_seconds(), processes_cpu_seconds(pids))

    def stop(self, pages: int, seconds: float | None = None) -> Run:
        """The run until now; `seconds` replaces the wall time when measured more exactly."""
        wall = time.time() - self.wall
        busy = (machine_busy_seconds() - self.machine) / wall / CPUS
        own = processes_cpu_seconds(self.pids) - self.own
        return Run(seconds or wall, pages, own, busy)


# Inputs


def sentence_lines(rng: random.Random, count: int, width: int) -> list[str]:
    """`count` lines of plausible prose, each about `width` characters."""
    lines = []
    for _ in range(count):
        words: list[str] = []
        while sum(len(word) + 1 for word in words) < width:
            words.append(rng.choice(VOCABULARY))
        lines.append(" ".join(words).capitalize() + ".")
    return lines


def text_documents(files: int, pages: int) -> list[Document]:
    rng = random.Random(1)
    return [
        Document(
            f"text-{index}.pdf",
            text_pdf([sentence_lines(rng, LINES_PER_TEXT_PAGE, 80) for _ in range(pages)]),
            pages,
            [],
        )
        for index in range(files)
    ]


def scan_page(lines: list[str]) -> Image.Image:
    """A page of body text as a 150 DPI scanner would produce it."""
    image = Image.new("L", SCAN_SIZE, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=SCAN_FONT_PX)
    for i, line in enumerate(lines):
        draw.text((110, 120 + i * 38), line, font=font, fill=0)
    return image


def scanned_pdf(pages: list[Image.Image]) -> bytes:
    """An image-only PDF: no text layer at all."""
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=SCAN_DPI, save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def scanned_documents(pages: int) -> list[Document]:
    rng = random.Random(2)
    page_lines = [sentence_lines(rng, LINES_PER_SCAN, 72) for _ in range(pages)]
    documents = []
    for first in range(0, pages, SCANS_PER_FILE):
        chunk = page_lines[first : first + SCANS_PER_FILE]
        data = scanned_pdf([scan_page(lines) for lines in chunk])
        words = [words_of("\n".join(lines)) for lines in chunk]
        documents.append(Document(f"scan-{first // SCANS_PER_FILE}.pdf", data, len(chunk), words))
    return documents


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def check_ocr(text: str, expected: set[str], where: str) -> None:
    """Fails unless OCR found at least WORD_RECALL_GOAL of the page's words."""
    recall = len(expected & words_of(text)) / len(expected)
    if recall < WORD_RECALL_GOAL:
        raise RuntimeError(f"OCR of {where} found {recall:.0%} of its words: {text[:200]!r}")


# Baselines


def pypdf_loop(documents: list[Document]) -> Run:
    """Every page's `extract_text()`, file after file, in this process."""
    meter = Meter.start(os.getpid())
    pages = 0
    for document in documents:
        for page in PdfReader(io.BytesIO(document.data)).pages:
            page.extract_text()
            pages += 1
    return meter.stop(pages)


def render_png(data: bytes, index: int, dpi: int, target: Path) -> None:
    """Page `index` (0-based) rendered as the worker renders it for OCR, saved as PNG."""
    document = pypdfium2.PdfDocument(data)
    try:
        document[index].render(scale=dpi / 72).to_pil().save(target, format="PNG")
    finally:
        document.close()


def tesseract(image: Path, threads: int | None) -> str:
    """One tesseract process over `image`; its text. `threads=None` leaves OpenMP alone."""
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    if threads is not None:
        env["OMP_THREAD_LIMIT"] = str(threads)
    done = subprocess.run(
        ["tesseract", str(image), "stdout"], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


@dataclasses.dataclass(frozen=True)
class ScanPage:
    document: Document
    index: int

    def read(self, dpi: int, workdir: Path, threads: int | None) -> float:
        """Renders and OCRs the page, checking its words; returns the rendering's seconds."""
        where = f"{self.document.name} page {self.index + 1}"
        image = workdir / f"{where.replace(' ', '-')}.png"
        started = time.perf_counter()
        render_png(self.document.data, self.index, dpi, image)
        rendered = time.perf_counter() - started
        check_ocr(tesseract(image, threads), self.document.words[self.index], where)
        return rendered


def scan_pages(documents: list[Document]) -> list[ScanPage]:
    return [ScanPage(document, index) for document in documents for index in range(document.pages)]


def serial_ocr(documents: list[Document], dpi: int, workdir: Path, threads: int | None) -> Run:
    """Render, then OCR, page after page; the rendering also timed on its own."""
    meter = Meter.start(os.getpid())
    pages = scan_pages(documents)
    render = sum(page.read(dpi, workdir, threads) for page in pages)
    return dataclasses.replace(meter.stop(len(pages)), render=render)


def parallel_ocr(documents: list[Document], dpi: int, workdir: Path) -> Run:
    """The same, one page per core at once: the bare tools' ceiling, with no orchestration."""
    meter = Meter.start(os.getpid())
    pages = scan_pages(documents)
    with ThreadPoolExecutor(CPUS) as pool:
        render = sum(pool.map(lambda page: page.read(dpi, workdir, 1), pages))
    return dataclasses.replace(meter.stop(len(pages)), render=render)


# The stack and the worker


def worker_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        "DOC_OCR_DPI": str(args.dpi),
        "DOC_PAGES_PER_BATCH": str(args.batch),
        "DOC_MAX_CONCURRENT_ACTIVITIES": str(args.concurrency),
    }


def start_worker(env: dict[str, str], log_path: Path) -> devstack.Service:
    """A worker serving only the `docs` queue, once it says it started."""
    command = [sys.executable, "-m", "conveyor.cli", "worker", "--queues", TaskQueue.DOCS.value]
    worker = devstack.spawn("worker", command, log_path, env)
    devstack.wait_until(
        lambda: WORKER_READY in log_path.read_text(errors="replace"), "the worker", worker
    )
    return worker


# Through the worker


@dataclasses.dataclass(frozen=True)
class Bench:
    http: httpx.AsyncClient
    db: asyncpg.Connection
    temporal: Client
    worker_pids: tuple[int, ...]
    workdir: Path


@dataclasses.dataclass(frozen=True)
class Upload:
    document_id: str
    job_run_id: str
    job_id: str


async def upload(bench: Bench, gate: asyncio.Semaphore, document: Document) -> Upload:
    """Uploads and starts ingesting one file."""
    files = {"file": (document.name, document.data, "application/pdf")}
    async with gate:
        response = await bench.http.post("/api/documents", params={"ingest": "true"}, files=files)
    if response.status_code != 202:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")
    body = response.json()
    return Upload(body["id"], body["jobRunId"], body["jobId"])


async def wait_until_completed(db: asyncpg.Connection, job_run_ids: list[str]) -> float:
    """Polls until every job run is COMPLETED; returns the last `finished_at` in epoch seconds."""
    while True:
        completed, failed, finished = await db.fetchrow(
            "SELECT count(*) FILTER (WHERE status = $2),"
            " count(*) FILTER (WHERE status = ANY($3::text[])),"
            " extract(epoch FROM max(finished_at))::float8"
            " FROM job_runs WHERE id = ANY($1::uuid[])",
            job_run_ids,
            JobStatus.COMPLETED.value,
            [JobStatus.FAILED.value, JobStatus.CANCELLED.value],
        )
        if failed:
            errors = await db.fetch(
                "SELECT DISTINCT error FROM job_runs WHERE id = ANY($1::uuid[]) AND error <> ''",
                job_run_ids,
            )
            raise RuntimeError(f"{failed} ingests failed: {[row['error'] for row in errors]}")
        if completed == len(job_run_ids):
            return float(finished)
        await asyncio.sleep(POLL_SECONDS)


async def ingest_all(bench: Bench, documents: list[Document], limit_seconds: float) -> Run:
    """Uploads every file for ingest and waits for all; checks what the worker wrote."""
    gate = asyncio.Semaphore(UPLOADS_IN_FLIGHT)
    meter = Meter.start(*bench.worker_pids)
    uploads = await asyncio.gather(*(upload(bench, gate, document) for document in documents))
    uploaded = time.time()
    try:
        async with asyncio.timeout(limit_seconds):
            finished = await wait_until_completed(bench.db, [u.job_run_id for u in uploads])
    except TimeoutError:
        raise RuntimeError(f"ingests not all done within {limit_seconds:.0f}s") from None
    run = meter.stop(sum(document.pages for document in documents), finished - meter.wall)
    for document, done in zip(documents, uploads, strict=True):
        await check_document(bench.db, document, done.document_id)
    job_ids = tuple(u.job_id for u in uploads)
    return dataclasses.replace(run, uploads=uploaded - meter.wall, job_ids=job_ids)


async def check_document(db: asyncpg.Connection, document: Document, document_id: str) -> None:
    """Fails unless the document is DONE with every page, each read the expected way."""
    status, page_count = await db.fetchrow(
        "SELECT status, page_count FROM documents WHERE id = $1::uuid", document_id
    )
    rows = await db.fetch(
        "SELECT page_number, method, text FROM document_pages"
        " WHERE document_id = $1::uuid ORDER BY page_number",
        document_id,
    )
    if status != "DONE" or page_count != document.pages or len(rows) != document.pages:
        raise RuntimeError(
            f"{document.name}: {status}, {page_count} pages, {len(rows)} page rows;"
            f" expected DONE with {document.pages}"
        )
    method = "OCR" if document.words else "TEXT"
    for row in rows:
        if row["method"] != method:
            raise RuntimeError(f"{document.name} page {row['page_number']}: {row['method']}")
    for row, expected in zip(rows, document.words, strict=False):
        check_ocr(row["text"], expected, f"{document.name} page {row['page_number']} (worker)")


# Where the worker's time went (--profile)


@dataclasses.dataclass(frozen=True)
class Span:
    """One activity execution, in epoch seconds from Temporal's history."""

    activity: str
    scheduled: float
    started: float
    closed: float


def epoch(event: HistoryEvent) -> float:
    return event.event_time.ToDatetime(tzinfo=UTC).timestamp()


async def activity_spans(temporal: Client, job_id: str) -> list[Span]:
    """Every completed activity of the workflow `job_id`."""
    scheduled: dict[int, tuple[str, float]] = {}
    started: dict[int, float] = {}
    spans = []
    async for event in temporal.get_workflow_handle(job_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = (name, epoch(event))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started[event.activity_task_started_event_attributes.scheduled_event_id] = epoch(event)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            event_id = event.activity_task_completed_event_attributes.scheduled_event_id
            name, at = scheduled[event_id]
            spans.append(Span(name, at, started[event_id], epoch(event)))
    return spans


def covered(spans: list[Span]) -> float:
    """Seconds during which at least one of `spans` was running."""
    total, end = 0.0, float("-inf")
    for span in sorted(spans, key=lambda span: span.started):
        total += max(0.0, span.closed - max(span.started, end))
        end = max(end, span.closed)
    return total


async def print_profile(temporal: Client, run: Run, slots: int) -> None:
    """Per activity: how long it queued and ran; then how busy the slots were."""
    spans = [span for job in run.job_ids for span in await activity_spans(temporal, job)]
    say(f"    {'activity':<18}{'count':>6}{'queued ms':>11}{'ran ms':>9}{'ran s':>8}")
    for name in sorted({span.activity for span in spans}):
        mine = [span for span in spans if span.activity == name]
        queued = sum(span.started - span.scheduled for span in mine) / len(mine)
        ran = sum(span.closed - span.started for span in mine)
        mean_ms = ran / len(mine) * 1000
        say(f"    {name:<18}{len(mine):>6}{queued * 1000:>11.0f}{mean_ms:>9.0f}{ran:>8.2f}")
    busy = sum(span.closed - span.started for span in spans) / (run.seconds * slots)
    idle = run.seconds - covered(spans)
    say(
        f"    activity slots busy {busy:.0%} of {slots} x {run.seconds:.2f}s;"
        f" no activity running for {idle:.2f}s"
    )


# Running it all


async def text_pair(bench: Bench, texts: list[Document]) -> Pair:
    worker = await ingest_all(bench, texts, limit_seconds=900)
    baseline = await asyncio.to_thread(pypdf_loop, texts)
    pair = Pair(worker, baseline)
    say(
        f"  text: worker {worker.seconds:.2f}s, pypdf {baseline.seconds:.2f}s,"
        f" ratio {pair.ratio:.2f} ({load_average()})"
    )
    return pair


async def scanned_pair(bench: Bench, scans: list[Document], dpi: int, images: Path) -> Pair:
    worker = await ingest_all(bench, scans, limit_seconds=1800)
    baseline = await asyncio.to_thread(serial_ocr, scans, dpi, images, 1)
    pair = Pair(worker, baseline)
    say(
        f"  scanned: worker {worker.seconds:.2f}s, serial {baseline.seconds:.2f}s,"
        f" ratio {pair.ratio:.2f} ({load_average()})"
    )
    return pair


async def all_pairs(
    bench: Bench, args: argparse.Namespace, inputs: tuple[list[Document], list[Document]]
) -> Results:
    texts, scans = inputs
    # A warm-up of each kind first: imports, connection pools, tesseract's model.
    await ingest_all(bench, [texts[0], scans[0]], limit_seconds=300)
    say(f"  warm-up done ({load_average()})")
    text, scanned = [], []
    slots = (args.concurrency or CPUS) * args.workers
    for _ in range(args.repeat):
        text.append(await text_pair(bench, texts))
        if args.profile:
            await print_profile(bench.temporal, text[-1].worker, slots)
        scanned.append(await scanned_pair(bench, scans, args.dpi, bench.workdir))
        if args.profile:
            await print_profile(bench.temporal, scanned[-1].worker, slots)
    return Results(text, scanned, await extras(args, scans, bench.workdir))


async def extras(
    args: argparse.Namespace, scans: list[Document], workdir: Path
) -> list[tuple[str, Run]]:
    runs = []
    if args.ceiling:
        run = await asyncio.to_thread(parallel_ocr, scans, args.dpi, workdir)
        runs.append((f"scanned: bare tools, {CPUS} pages at once", run))
    if args.own_threads:
        run = await asyncio.to_thread(serial_ocr, scans, args.dpi, workdir, None)
        runs.append(("scanned: serial, tesseract own threads", run))
    for label, run in runs:
        say(f"  {label.removeprefix('scanned: ')}: {run.seconds:.2f}s ({load_average()})")
    return runs


async def measure(
    args: argparse.Namespace,
    settings: Settings,
    workdir: Path,
    services: list[devstack.Service],
    inputs: tuple[list[Document], list[Document]],
) -> Results:
    token = (await create_bench_tokens(settings.database_url, [ORG], "bench/docs.py"))[ORG]
    env = child_env(settings)
    api_url = await asyncio.to_thread(start_api, env, workdir, services)
    workers = [
        await asyncio.to_thread(
            start_worker, {**env, **worker_env(args)}, workdir / "logs" / f"worker-{number}.log"
        )
        for number in range(args.workers)
    ]
    db = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    temporal = await Client.connect(settings.temporal_address)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as http:
            images = workdir / "pages"
            images.mkdir()
            pids = tuple(worker.process.pid for worker in workers)
            bench = Bench(http, db, temporal, pids, images)
            return await all_pairs(bench, args, inputs)
    finally:
        await db.close()
        for worker in workers:
            await asyncio.to_thread(worker.stop)


def run(args: argparse.Namespace, workdir: Path, services: list[devstack.Service]) -> Results:
    # Timings are only as quiet as the machine: say how busy it already was.
    say(f"{CPUS} CPUs, {load_average()} before starting")
    inputs = text_documents(args.text_files, args.text_pages), scanned_documents(args.scanned_pages)
    say(f"Starting PostgreSQL, SeaweedFS and Temporal in {workdir}")
    settings = start_stack(workdir, services)
    return asyncio.run(measure(args, settings, workdir, services, inputs))


# The report


def median_pair(pairs: list[Pair]) -> Pair:
    return sorted(pairs, key=lambda pair: pair.ratio)[(len(pairs) - 1) // 2]


def row(label: str, run: Run, notes: str = "") -> str:
    line = (
        f"{label:<42}{run.pages:>6}{run.seconds:>9.2f}{run.pages_per_second:>9.2f}"
        f"{run.cpu_per_page:>11.3f}{run.cpu_share:>9.0%}{run.machine_busy:>9.0%}  {notes}"
    )
    return line.rstrip()


def uploads_note(run: Run) -> str:
    return f"all uploaded after {run.uploads:.2f}s"


def table(results: Results) -> list[str]:
    text, scanned = median_pair(results.text), median_pair(results.scanned)
    baseline = scanned.baseline
    ocr = dataclasses.replace(baseline, seconds=baseline.seconds - baseline.render)
    lines = [
        row("text: worker, upload to COMPLETED", text.worker, uploads_note(text.worker)),
        row("text: bare pypdf loop", text.baseline),
        row("scanned: worker, upload to COMPLETED", scanned.worker, uploads_note(scanned.worker)),
        row("scanned: render + tesseract, serial", baseline, f"render {baseline.render:.2f}s"),
        row("scanned: tesseract alone, serial", ocr, "CPU columns include rendering"),
    ]  # fmt: skip
    for label, run in results.extras:
        lines.append(
            row(
                label,
                run,
                f"ratio to serial {run.pages_per_second / baseline.pages_per_second:.2f}",
            )
        )
    return lines


def ratio_line(label: str, pairs: list[Pair], ratio: Callable[[Pair], float], goal: float) -> str:
    values = [ratio(pair) for pair in pairs]
    median = statistics.median(values)
    runs = f" (runs {', '.join(f'{v:.2f}' for v in sorted(values))})" if len(values) > 1 else ""
    verdict = "PASS" if median >= goal else "MISS"
    return f"{label:<50}{median:>6.2f}{runs}   goal >= {goal}   {verdict}"


def report(args: argparse.Namespace, results: Results) -> None:
    say(
        f"\n{args.text_files} text PDFs x {args.text_pages} pages, {args.scanned_pages} scanned"
        f" pages rendered at {args.dpi} DPI; batch {args.batch}, concurrency"
        f" {args.concurrency or 'four per core'}, {args.workers} worker(s);"
        f" {CPUS} CPUs, {load_average()}"
    )
    say(
        f"{'measurement':<42}{'pages':>6}{'seconds':>9}{'pages/s':>9}{'CPU s/page':>11}"
        f"{'own CPU':>9}{'machine':>9}  notes"
    )
    for line in table(results):
        say(line)
    say("")
    goals: list[tuple[str, list[Pair], Callable[[Pair], float], float]] = [
        ("text: worker / bare pypdf", results.text, lambda p: p.ratio, TEXT_RATIO_GOAL),
        ("scanned: worker / render + tesseract", results.scanned, lambda p: p.ratio,
         SCANNED_RATIO_GOAL),
        ("scanned: worker / tesseract alone (strictest)", results.scanned,
         lambda p: p.ocr_only_ratio, SCANNED_RATIO_GOAL),
    ]  # fmt: skip
    for goal in goals:
        say(ratio_line(*goal))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text-files", type=positive, default=10, help="text PDFs")
    parser.add_argument("--text-pages", type=positive, default=40, help="pages per text PDF")
    parser.add_argument("--scanned-pages", type=positive, default=12, help="scanned pages")
    parser.add_argument("--dpi", type=positive, default=DEFAULT_DPI, help="DOC_OCR_DPI")
    parser.add_argument("--batch", type=positive, default=DEFAULT_BATCH, help="DOC_PAGES_PER_BATCH")
    parser.add_argument(
        "--concurrency", type=int, default=0, help="DOC_MAX_CONCURRENT_ACTIVITIES; 0: four per core"
    )
    parser.add_argument(
        "--workers", type=positive, default=1, help="worker processes on the docs queue"
    )
    parser.add_argument(
        "--repeat", type=positive, default=1, help="runs of each measurement; the median is kept"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after each worker run, where its time went (from Temporal's histories)",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also time the bare tools on the scanned pages, one page per core at once",
    )
    parser.add_argument(
        "--own-threads",
        action="store_true",
        help="also time the serial baseline with tesseract's OpenMP threads (slow)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a quick run: 3 text PDFs x 8 pages, 4 scanned pages"
    )
    args = parser.parse_args()
    if args.smoke:
        args.text_files, args.text_pages, args.scanned_pages = 3, 8, 4
    return args


def main() -> None:
    args = parse_args()
    results = in_scratch_stack(lambda workdir, services: run(args, workdir, services))
    report(args, results)


if __name__ == "__main__":
    main()
