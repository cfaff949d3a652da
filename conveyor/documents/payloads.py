"""Workflow and activity payloads of document ingest; free of side effects."""

from dataclasses import dataclass
from typing import Any

from conveyor.jobs.payloads import JobRef, RetrySpec


@dataclass(frozen=True)
class DocIngestWorkflowInput:
    job: JobRef
    retry: RetrySpec
    document_id: str
    v: int = 1


@dataclass(frozen=True)
class DocumentRef:
    job: JobRef
    document_id: str
    v: int = 1


@dataclass(frozen=True)
class DocIngestResult:
    page_count: int
    ocr_pages: int
    text_chars: int
    v: int = 1

    def summary(self) -> dict[str, Any]:
        return {
            "pageCount": self.page_count,
            "ocrPages": self.ocr_pages,
            "textChars": self.text_chars,
        }


@dataclass(frozen=True)
class Inspection:
    """The document's page count, and the pages its text layer did not cover.

    A document every page of which had a text layer is finished already:
    `finished` holds its result and nothing is left to schedule.
    """

    page_count: int
    ocr_pages: list[int]
    pages_per_batch: int
    finished: DocIngestResult | None = None
    v: int = 1


@dataclass(frozen=True)
class PageBatch:
    """Pages of one document (1-based) to read by OCR."""

    job: JobRef
    document_id: str
    pages: list[int]
    v: int = 1


@dataclass(frozen=True)
class BatchResult:
    pages: int
    v: int = 1
