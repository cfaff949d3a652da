"""Stored files: metadata, and a download through a short-lived presigned URL."""

import uuid

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from api.deps import CurrentPrincipal, PresignS3Dep, SessionDep, SettingsDep
from api.schemas import FileObjectOut
from conveyor.models import FileObject
from conveyor.storage import presigned_download_url
from conveyor.tenancy import get_owned

router = APIRouter(prefix="/api/file-objects", tags=["files"])


@router.get("/{file_id}")
async def read_file_object(
    file_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> FileObjectOut:
    return FileObjectOut.of(await get_owned(session, FileObject, file_id, principal, "file object"))


@router.get("/{file_id}/download", status_code=307)
async def download_file_object(
    file_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    s3: PresignS3Dep,
    settings: SettingsDep,
) -> RedirectResponse:
    file = await get_owned(session, FileObject, file_id, principal, "file object")
    filename = file.key.rsplit("/", 1)[-1]
    url = presigned_download_url(
        s3, file.bucket, file.key, filename, file.content_type, settings.presign_expiry_seconds
    )
    return RedirectResponse(url, status_code=307)
