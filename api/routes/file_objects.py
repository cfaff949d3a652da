"""Stored files: metadata, and a download through a short-lived presigned URL."""

import uuid

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import CurrentPrincipal, PresignS3Dep, SessionDep, SettingsDep
from api.schemas import FileObjectOut
from conveyor.auth import Principal
from conveyor.errors import NotFound
from conveyor.models import FileObject
from conveyor.storage import presigned_download_url

router = APIRouter(prefix="/api/file-objects", tags=["files"])


async def _get_file(session: AsyncSession, principal: Principal, file_id: uuid.UUID) -> FileObject:
    file = await session.scalar(
        select(FileObject).where(FileObject.id == file_id, FileObject.org_id == principal.org_id)
    )
    if file is None:
        raise NotFound(f"file object {file_id} not found")
    return file


@router.get("/{file_id}")
async def read_file_object(
    file_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> FileObjectOut:
    return FileObjectOut.of(await _get_file(session, principal, file_id))


@router.get("/{file_id}/download", status_code=307)
async def download_file_object(
    file_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    s3: PresignS3Dep,
    settings: SettingsDep,
) -> RedirectResponse:
    file = await _get_file(session, principal, file_id)
    url = presigned_download_url(
        s3, file.bucket, file.key, file.key.rsplit("/", 1)[-1], settings.presign_expiry_seconds
    )
    return RedirectResponse(url, status_code=307)
