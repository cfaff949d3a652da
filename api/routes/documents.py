"""Documents: upload or create from a stored file, ingest, read pages and artifacts."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.deps import CorrelationId, CurrentPrincipal, SessionDep, SettingsDep, SubmitterDep
from api.jobs import JobIntake, JobIntakeDep
from api.schemas import DocumentArtifactOut, DocumentOut, DocumentPageOut
from conveyor.documents.service import (
    DOC_INGEST_JOB,
    DocIngestRequest,
    create_document_from_file,
    create_uploaded_document,
    list_artifacts,
    list_pages,
    store_upload,
    upload_key,
)
from conveyor.models import Document
from conveyor.tenancy import get_owned

router = APIRouter(prefix="/api/documents", tags=["documents"])

_CHUNK = 1024 * 1024


async def _chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(_CHUNK):
        yield chunk


async def _ingest(intake: JobIntake, document_id: uuid.UUID) -> dict[str, Any]:
    request = DocIngestRequest(document_id=document_id)
    return await intake.accept(DOC_INGEST_JOB, request, entity_field="documentId")


@router.post("", status_code=201)
async def upload_document(
    file: UploadFile,
    request: Request,
    session: SessionDep,
    submitter: SubmitterDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    correlation_id: CorrelationId,
    response: Response,
    ingest: Annotated[bool, Query(description="Start ingesting at once (202).")] = False,
) -> dict[str, Any]:
    """Stores the upload (multipart field `file`) and creates its document."""
    document_id = uuid.uuid4()
    key = upload_key(principal.org_id, document_id, file.filename)
    stored = await store_upload(request.app.state.s3, settings, key, _chunks(file))
    document = await create_uploaded_document(
        session, principal, document_id, stored, settings, file.filename
    )
    body = DocumentOut.of(document).model_dump(by_alias=True, mode="json")
    if not ingest:
        return body
    response.status_code = 202
    # Each upload is a new document: no Idempotency-Key can name its ingest.
    intake = JobIntake(submitter, principal, correlation_id, None, response)
    return {**body, **await _ingest(intake, document.id)}


class FromFileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    file_object_id: uuid.UUID = Field(alias="fileObjectId")


@router.post("/from-file", status_code=201)
async def create_from_file(
    request: FromFileRequest, session: SessionDep, principal: CurrentPrincipal
) -> DocumentOut:
    """A document over a file already stored (an export, say)."""
    return DocumentOut.of(
        await create_document_from_file(session, principal, request.file_object_id)
    )


@router.post("/{document_id}/ingest", status_code=202)
async def ingest_document(document_id: uuid.UUID, intake: JobIntakeDep) -> dict[str, Any]:
    return await _ingest(intake, document_id)


@router.get("/{document_id}")
async def read_document(
    document_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> DocumentOut:
    return DocumentOut.of(await get_owned(session, Document, document_id, principal, "document"))


@router.get("")
async def list_documents(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DocumentOut]:
    query = (
        select(Document)
        .where(Document.org_id == principal.org_id)
        .order_by(Document.created_at.desc(), Document.id)
        .limit(limit)
        .offset(offset)
    )
    return [DocumentOut.of(document) for document in await session.scalars(query)]


@router.get("/{document_id}/pages")
async def read_pages(
    document_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[DocumentPageOut]:
    pages = await list_pages(session, principal, document_id)
    return [DocumentPageOut.model_validate(page) for page in pages]


@router.get("/{document_id}/artifacts")
async def read_artifacts(
    document_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[DocumentArtifactOut]:
    artifacts = await list_artifacts(session, principal, document_id)
    return [DocumentArtifactOut.model_validate(artifact) for artifact in artifacts]
