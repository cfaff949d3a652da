"""The retention activity: remove expired job runs, exports and their stored files."""

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity

from conveyor.db import SessionMaker
from conveyor.jobs.catalog import JOB_KINDS
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.progress import Heartbeat
from conveyor.maintenance.payloads import RetentionInput, RetentionResult
from conveyor.maintenance.retention import ExpiredBatch, delete_rows, expired_batch
from conveyor.models import FileObject
from conveyor.settings import Settings
from conveyor.storage import S3Client

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

log = logging.getLogger(__name__)


class RetentionActivities:
    def __init__(self, session_maker: SessionMaker, s3: S3Client, settings: Settings) -> None:
        self._session_maker = session_maker
        self._mirror = JobRunMirror(session_maker)
        self._s3 = s3
        self._settings = settings

    @activity.defn
    async def purge_expired(self, request: RetentionInput) -> RetentionResult:
        """Each job kind's finished runs past its retention, batch by batch.

        Stored objects go before the rows that name them: an attempt that dies
        in between leaves rows the next attempt removes, never unnamed objects.
        """
        await self._mirror.attempt_started(request.job.job_run_id, activity.info())
        totals = RetentionResult(0, 0, 0, 0)
        async with Heartbeat():
            for job_name in sorted(JOB_KINDS):
                max_age = timedelta(days=self._settings.retention_for(job_name))
                while batch := await self._next_batch(job_name, max_age):
                    totals = _add(totals, await self._purge(batch))
        log.info("retention removed %s", totals.summary(), extra={"job_id": request.job.job_id})
        return totals

    async def _next_batch(self, job_name: str, max_age: timedelta) -> ExpiredBatch | None:
        async with self._session_maker() as session:
            batch = await expired_batch(session, job_name, max_age)
        return batch if batch.run_ids else None

    async def _purge(self, batch: ExpiredBatch) -> RetentionResult:
        await asyncio.to_thread(self._delete_objects, batch.files)
        async with self._session_maker.begin() as session:
            letters = await delete_rows(session, batch)
        return RetentionResult(len(batch.run_ids), len(batch.export_ids), len(batch.files), letters)

    def _delete_objects(self, files: list[FileObject]) -> None:
        for bucket in {file.bucket for file in files}:
            keys: list[ObjectIdentifierTypeDef] = [
                {"Key": file.key} for file in files if file.bucket == bucket
            ]
            # One request deletes up to 1,000 keys; a batch is smaller than that.
            response = self._s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
            if response.get("Errors"):
                raise RuntimeError(f"S3 refused to delete {response['Errors'][:3]}")


def _add(a: RetentionResult, b: RetentionResult) -> RetentionResult:
    return RetentionResult(
        a.job_runs + b.job_runs, a.exports + b.exports, a.files + b.files,
        a.dead_letters + b.dead_letters,
    )  # fmt: skip
