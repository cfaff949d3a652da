"""Document ingest activities: inspect the file, turn page batches into text, finish."""

import asyncio
import multiprocessing
import os
import uuid
from collections import OrderedDict
from collections.abc import Awaitable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Update, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from temporalio import activity
from temporalio.exceptions import ApplicationError

from conveyor.constants import JobStatus
from conveyor.db import SessionMaker
from conveyor.documents import extract
from conveyor.documents.formats import IMAGE_TYPES
from conveyor.documents.payloads import (
    BatchResult,
    DocIngestResult,
    DocumentRef,
    Inspection,
    PageBatch,
)
from conveyor.jobs.errors import BAD_INPUT
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.progress import Heartbeat
from conveyor.models import Document, DocumentArtifact, DocumentPage, FileObject, JobRun
from conveyor.settings import Settings
from conveyor.storage import S3Client

TEXT_ARTIFACT = "TEXT"
# Below this, a process's start-up and the PDF's parse cost more than they save.
_MIN_PAGES_PER_PROCESS = 10
T = TypeVar("T")


class _RecentFiles:
    """The last few documents' bytes, so a document's batches download it once per worker."""

    def __init__(self, s3: S3Client, bucket: str, keep: int = 2) -> None:
        self._s3, self._bucket, self._keep = s3, bucket, keep
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str) -> bytes:
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key not in self._files:
                response = await asyncio.to_thread(
                    self._s3.get_object, Bucket=self._bucket, Key=key
                )
                self._files[key] = await asyncio.to_thread(response["Body"].read)
                while len(self._files) > self._keep:
                    evicted, _ = self._files.popitem(last=False)
                    self._locks.pop(evicted, None)
            self._files.move_to_end(key)
            return self._files[key]


class DocIngestActivities:
    def __init__(self, session_maker: SessionMaker, s3: S3Client, settings: Settings) -> None:
        self._session_maker = session_maker
        self._mirror = JobRunMirror(session_maker)
        self._files = _RecentFiles(s3, settings.s3_bucket)
        self._settings = settings
        self._ocr = extract.OcrSettings(settings.doc_ocr_languages, settings.doc_ocr_dpi)
        # One tesseract process per core, each single-threaded: parallel pages
        # beat tesseract's own threads, which fight over the same cores.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self._cores = os.cpu_count() or 1
        self._ocr_slots = asyncio.Semaphore(self._cores)
        self._processes: ProcessPoolExecutor | None = None

    @activity.defn
    async def inspect_document(self, ref: DocumentRef) -> Inspection:
        """Checks the file, starts from a clean slate, and writes every text-layer page.

        Reading a text layer costs milliseconds a page, so all of them are read
        here at once; only the pages without one are left for OCR batches.
        """
        await self._mirror.attempt_started(ref.job.job_run_id, activity.info())
        document, data = await self._load(ref)
        async with Heartbeat():
            count = await _readable(
                asyncio.to_thread(
                    extract.count_pages, data, document.mime_type, self._settings.doc_max_pages
                )
            )
            numbers = list(range(1, count + 1))
            found = await _readable(self._text_layers(data, document.mime_type, numbers))
        await self.discard_output(ref)
        async with self._session_maker.begin() as session:
            await session.execute(
                update(Document).where(Document.id == document.id).values(page_count=count)
            )
        await self._write_pages(ref, list(found.values()))
        ocr_pages = [number for number in numbers if number not in found]
        # A text-only document is done here: one activity round trip fewer.
        finished = None if ocr_pages else await self.finish_document(ref)
        return Inspection(count, ocr_pages, self._settings.doc_pages_per_batch, finished)

    @activity.defn
    async def ingest_pages(self, batch: PageBatch) -> BatchResult:
        """Reads a batch of scanned pages by OCR and writes them in one transaction."""
        document, data = await self._load(batch)
        async with Heartbeat():
            pages = await asyncio.gather(*(self._ocr_page(data, document, n) for n in batch.pages))
        await self._write_pages(batch, list(pages))
        return BatchResult(len(pages))

    @activity.defn
    async def finish_document(self, ref: DocumentRef) -> DocIngestResult:
        """Writes the whole text as the TEXT artifact and the page count."""
        document_id = uuid.UUID(ref.document_id)
        async with self._session_maker.begin() as session:
            pages = list(
                await session.scalars(
                    select(DocumentPage)
                    .where(DocumentPage.document_id == document_id)
                    .order_by(DocumentPage.page_number)
                )
            )
            text = "\n\n".join(page.text for page in pages)
            await session.execute(
                insert(DocumentArtifact)
                .values(document_id=document_id, type=TEXT_ARTIFACT, content=text)
                .on_conflict_do_update(
                    index_elements=["document_id", "type"],
                    set_={"content": text, "created_at": func.now()},
                )
            )
            await session.execute(
                update(Document).where(Document.id == document_id).values(page_count=len(pages))
            )
        ocr_pages = sum(page.method == extract.OCR for page in pages)
        return DocIngestResult(len(pages), ocr_pages, len(text))

    @activity.defn
    async def discard_output(self, ref: DocumentRef) -> None:
        """Removes the document's pages and artifacts: before a run, and after a failed one."""
        document_id = uuid.UUID(ref.document_id)
        async with self._session_maker.begin() as session:
            await session.execute(
                delete(DocumentPage).where(DocumentPage.document_id == document_id)
            )
            await session.execute(
                delete(DocumentArtifact).where(DocumentArtifact.document_id == document_id)
            )
            await session.execute(
                update(Document).where(Document.id == document_id).values(page_count=None)
            )

    async def _load(self, ref: DocumentRef | PageBatch) -> tuple[Document, bytes]:
        async with self._session_maker() as session:
            row = (
                await session.execute(
                    select(Document, FileObject.key)
                    .join(FileObject, FileObject.id == Document.file_object_id)
                    .where(Document.id == uuid.UUID(ref.document_id))
                )
            ).one_or_none()
        if row is None:
            raise ApplicationError(
                "the document no longer exists", type=BAD_INPUT, non_retryable=True
            )
        return row[0], await self._files.get(row[1])

    async def _text_layers(
        self, data: bytes, mime_type: str, numbers: list[int]
    ) -> dict[int, extract.PageText]:
        """pypdf holds the GIL, so page ranges are read in processes, one per core."""
        if mime_type in IMAGE_TYPES:
            return {}
        loop = asyncio.get_running_loop()
        size = max(_MIN_PAGES_PER_PROCESS, -(-len(numbers) // self._cores))
        ranges = [numbers[i : i + size] for i in range(0, len(numbers), size)]
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(self._pdf_processes(), extract.text_layers, data, mime_type, r)
                for r in ranges
            )
        )
        return {number: page for part in parts for number, page in part.items()}

    def _pdf_processes(self) -> ProcessPoolExecutor:
        # Spawned, not forked: the worker runs threads (Temporal's among them)
        # that a fork would copy mid-flight.
        if self._processes is None:
            context = multiprocessing.get_context("spawn")
            self._processes = ProcessPoolExecutor(self._cores, mp_context=context)
        return self._processes

    async def _ocr_page(self, data: bytes, document: Document, number: int) -> extract.PageText:
        async with self._ocr_slots:
            return await _readable(
                asyncio.to_thread(extract.ocr_page, data, document.mime_type, number, self._ocr)
            )

    async def _write_pages(
        self, batch: DocumentRef | PageBatch, pages: list[extract.PageText]
    ) -> None:
        """The pages (an upsert, so a retried batch rewrites them), then progress."""
        if not pages:
            return
        document_id = uuid.UUID(batch.document_id)
        rows: list[dict[str, Any]] = [
            {
                "document_id": document_id,
                "page_number": page.page_number,
                "text": page.text,
                "method": page.method,
                "confidence": page.confidence,
            }
            for page in pages
        ]
        statement = insert(DocumentPage).values(rows)
        async with self._session_maker.begin() as session:
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["document_id", "page_number"],
                    set_={
                        "text": statement.excluded.text,
                        "method": statement.excluded.method,
                        "confidence": statement.excluded.confidence,
                    },
                )
            )
            await session.execute(_progress_from_pages(batch, document_id))


def _progress_from_pages(batch: DocumentRef | PageBatch, document_id: uuid.UUID) -> Update:
    """Progress is pages written so far over the page count, whichever batch finishes."""
    written = (
        select(func.count())
        .select_from(DocumentPage)
        .where(DocumentPage.document_id == document_id)
        .scalar_subquery()
    )
    total = select(Document.page_count).where(Document.id == document_id).scalar_subquery()
    return (
        update(JobRun)
        .where(JobRun.id == uuid.UUID(batch.job.job_run_id), JobRun.status == JobStatus.RUNNING)
        .values(progress=func.least(99, written * 100 / func.nullif(total, 0)))
    )


async def _readable(work: Awaitable[T]) -> T:
    """Awaits `work`; a file that cannot be read fails for good, with why."""
    try:
        return await work
    except extract.UnreadableDocument as err:
        raise ApplicationError(str(err), type=BAD_INPUT, non_retryable=True) from err
