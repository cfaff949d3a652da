"""What retention removes: finished job runs past their kind's age, and their exports.

AI tasks and documents are the org's own records (AI tasks are its cost
ledger), so they stay; their job runs go. An export's stored file goes with
it, unless a document was made from that file.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.constants import TERMINAL_STATUSES
from conveyor.exports.service import EXPORT_JOB
from conveyor.models import DeadLetter, Document, ExportJob, FileObject, JobRun

BATCH = 200


@dataclass(frozen=True)
class ExpiredBatch:
    run_ids: list[uuid.UUID]
    export_ids: list[uuid.UUID]
    files: list[FileObject]


async def expired_batch(session: AsyncSession, job_name: str, max_age: timedelta) -> ExpiredBatch:
    """Up to BATCH finished runs of `job_name` older than `max_age`, and their exports' files."""
    runs = list(
        await session.scalars(
            select(JobRun)
            .where(
                JobRun.job_name == job_name,
                JobRun.status.in_([status.value for status in TERMINAL_STATUSES]),
                JobRun.finished_at < func.now() - max_age,
            )
            .order_by(JobRun.finished_at)
            .limit(BATCH)
        )
    )
    export_ids = [
        uuid.UUID(run.entity_id) for run in runs if run.entity_type == EXPORT_JOB.entity_type
    ]
    files = list(
        await session.scalars(
            select(FileObject)
            .join(ExportJob, ExportJob.file_object_id == FileObject.id)
            .where(ExportJob.id.in_(export_ids))
            .where(~select(Document.id).where(Document.file_object_id == FileObject.id).exists())
        )
    )
    return ExpiredBatch([run.id for run in runs], export_ids, files)


async def delete_rows(session: AsyncSession, batch: ExpiredBatch) -> int:
    """Deletes the batch's rows (its files' objects must be gone already); returns letters."""
    letters = select(DeadLetter.id).where(DeadLetter.job_run_id.in_(batch.run_ids))
    # A replay that outlives its dead letter keeps running, unlinked.
    await session.execute(
        update(JobRun).where(JobRun.replay_of.in_(letters)).values(replay_of=None)
    )
    removed_letters = await session.scalars(
        delete(DeadLetter).where(DeadLetter.job_run_id.in_(batch.run_ids)).returning(DeadLetter.id)
    )
    await session.execute(delete(ExportJob).where(ExportJob.id.in_(batch.export_ids)))
    await session.execute(delete(FileObject).where(FileObject.id.in_([f.id for f in batch.files])))
    await session.execute(delete(JobRun).where(JobRun.id.in_(batch.run_ids)))
    return len(list(removed_letters))
