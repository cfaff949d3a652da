"""The document ingest workflow: inspect (and text layers), OCR batches in parallel, the text.

If any step fails or the job is cancelled, the batches still running are
cancelled and waited for, and the document's partial pages are discarded, so
a failed ingest never leaves half a document behind.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.doc_ingest import DocIngestActivities
    from conveyor.constants import JobName
    from conveyor.documents.payloads import (
        BatchResult,
        DocIngestResult,
        DocIngestWorkflowInput,
        DocumentRef,
        Inspection,
        PageBatch,
    )

from workflows.lifecycle import job_activity_options, run_job

_CLEANUP_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=0)


@workflow.defn(name=JobName.DOC_INGEST.value)
class DocIngestWorkflow:
    @workflow.run
    async def run(self, request: DocIngestWorkflowInput) -> DocIngestResult:
        return await run_job(request.job, lambda: self._ingest(request), DocIngestResult.summary)

    async def _ingest(self, request: DocIngestWorkflowInput) -> DocIngestResult:
        ref = DocumentRef(request.job, request.document_id)
        options = job_activity_options(request.retry, timedelta(minutes=30))
        try:
            inspection: Inspection = await workflow.execute_activity_method(
                DocIngestActivities.inspect_document, ref, **options
            )
            if inspection.finished is not None:
                return inspection.finished
            await self._ocr_batches(request, inspection.ocr_pages, inspection.pages_per_batch)
            return await workflow.execute_activity_method(
                DocIngestActivities.finish_document, ref, **options
            )
        except BaseException:
            await workflow.execute_activity_method(
                DocIngestActivities.discard_output,
                ref,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=_CLEANUP_RETRY,
            )
            raise

    async def _ocr_batches(
        self, request: DocIngestWorkflowInput, pages: list[int], per_batch: int
    ) -> list[BatchResult]:
        options = job_activity_options(request.retry, timedelta(minutes=30))
        tasks = [
            asyncio.ensure_future(
                workflow.execute_activity_method(
                    DocIngestActivities.ingest_pages,
                    PageBatch(request.job, request.document_id, pages[i : i + per_batch]),
                    **options,
                )
            )
            for i in range(0, len(pages), per_batch)
        ]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
