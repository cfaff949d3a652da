"""Documents: upload into object storage, create from a stored file, the ingest job kind."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.auth import Principal
from conveyor.constants import JobName, JobStatus, TaskQueue
from conveyor.documents.formats import UNKNOWN, sniff_mime_type
from conveyor.documents.payloads import DocIngestWorkflowInput
from conveyor.errors import ConveyorError
from conveyor.jobs.kinds import JobKind
from conveyor.jobs.payloads import JobRef, RetrySpec
from conveyor.models import Document, DocumentArtifact, DocumentPage, FileObject
from conveyor.settings import Settings
from conveyor.storage import MIB, S3Client, StreamingUpload
from conveyor.tenancy import get_owned

UPLOAD, FILE_OBJECT = "UPLOAD", "FILE_OBJECT"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class PayloadTooLarge(ConveyorError):
    status_code = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str
    mime_type: str


async def store_upload(
    s3: S3Client, settings: Settings, key: str, chunks: AsyncIterator[bytes]
) -> StoredFile:
    """Streams an upload into S3, refusing it (and leaving nothing) past the size limit."""
    limit = settings.doc_max_upload_mb * MIB
    upload = StreamingUpload(s3, settings.s3_bucket, key, UNKNOWN, part_size=8 * MIB, concurrency=2)
    head = b""
    try:
        async for chunk in chunks:
            head = head or chunk[:1024]
            if upload.size + len(chunk) > limit:
                raise PayloadTooLarge(f"the file is over the {settings.doc_max_upload_mb} MB limit")
            await upload.write(chunk)
        await upload.complete()
    except BaseException:
        await asyncio.shield(upload.abort())
        raise
    return StoredFile(key, upload.size, upload.sha256, sniff_mime_type(head))


def upload_key(org_id: str, document_id: uuid.UUID, filename: str | None) -> str:
    safe = _UNSAFE_NAME.sub("_", filename or "document").strip("._")[:100] or "document"
    return f"documents/{org_id}/{document_id}/{safe}"


async def create_uploaded_document(
    session: AsyncSession,
    principal: Principal,
    document_id: uuid.UUID,
    stored: StoredFile,
    settings: Settings,
    filename: str | None,
) -> Document:
    file = FileObject(
        org_id=principal.org_id,
        bucket=settings.s3_bucket,
        key=stored.key,
        content_type=stored.mime_type,
        size_bytes=stored.size,
        sha256=stored.sha256,
    )
    session.add(file)
    await session.flush()
    return await _add_document(session, principal, document_id, file, UPLOAD, filename)


async def create_document_from_file(
    session: AsyncSession, principal: Principal, file_object_id: uuid.UUID
) -> Document:
    file = await get_owned(session, FileObject, file_object_id, principal, "file object")
    return await _add_document(
        session, principal, uuid.uuid4(), file, FILE_OBJECT, file.key.rsplit("/", 1)[-1]
    )


async def _add_document(
    session: AsyncSession,
    principal: Principal,
    document_id: uuid.UUID,
    file: FileObject,
    source: str,
    filename: str | None,
) -> Document:
    document = Document(
        id=document_id,
        org_id=principal.org_id,
        owner_user_id=principal.user_id,
        source=source,
        file_object_id=file.id,
        filename=filename,
        mime_type=file.content_type.split(";")[0],
    )
    session.add(document)
    await session.flush()
    await session.refresh(document)
    return document


class DocIngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    document_id: uuid.UUID = Field(alias="documentId")


async def _admit(
    session: AsyncSession, settings: Settings, principal: Principal, request: DocIngestRequest
) -> None:
    await get_owned(session, Document, request.document_id, principal, "document")


async def _queue_document(
    session: AsyncSession, principal: Principal, entity_id: uuid.UUID, _: DocIngestRequest
) -> None:
    await session.execute(
        update(Document)
        .where(Document.id == entity_id, Document.org_id == principal.org_id)
        .values(status=JobStatus.QUEUED.value, error=None, started_at=None, finished_at=None)
    )


def _workflow_input(
    job: JobRef, retry: RetrySpec, entity_id: uuid.UUID, _: DocIngestRequest
) -> DocIngestWorkflowInput:
    return DocIngestWorkflowInput(job=job, retry=retry, document_id=str(entity_id))


DOC_INGEST_JOB = JobKind(
    name=JobName.DOC_INGEST,
    task_queue=TaskQueue.DOCS,
    entity_type="document",
    payload_model=DocIngestRequest,
    default_max_attempts=3,
    create_entity=_queue_document,
    build_input=_workflow_input,
    admit=_admit,
    existing_entity=lambda request: request.document_id,
)


async def list_pages(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> list[DocumentPage]:
    await get_owned(session, Document, document_id, principal, "document")
    query = select(DocumentPage).where(DocumentPage.document_id == document_id)
    return list(await session.scalars(query.order_by(DocumentPage.page_number)))


async def list_artifacts(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> list[DocumentArtifact]:
    await get_owned(session, Document, document_id, principal, "document")
    query = select(DocumentArtifact).where(DocumentArtifact.document_id == document_id)
    return list(await session.scalars(query.order_by(DocumentArtifact.type)))
