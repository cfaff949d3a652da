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
class Inspection:
    page_count: int
    pages_per_batch: int
    v: int = 1


@dataclass(frozen=True)
class PageBatch:
    """Pages `first`..`last` (1-based, inclusive) of one document."""

    job: JobRef
    document_id: str
    first: int
    last: int
    v: int = 1


@dataclass(frozen=True)
class BatchResult:
    pages: int
    ocr_pages: int
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
