"""Request dependencies: the DB session, the caller, the job submitter.

All are `async def`: FastAPI runs a plain `def` dependency on a thread pool,
a hop that costs more than what these do.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from conveyor.auth import Principal, principal_for_token
from conveyor.jobs.submit import JobSubmitter
from conveyor.settings import Settings
from conveyor.storage import S3Client


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the handler returns, else rolled back."""
    async with request.app.state.session_maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def get_presign_s3(request: Request) -> S3Client:
    client: S3Client = request.app.state.presign_s3
    return client


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
PresignS3Dep = Annotated[S3Client, Depends(get_presign_s3)]


async def authenticate(request: Request, session: SessionDep) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    principal = None
    if scheme.lower() == "bearer" and token.strip():
        principal = await principal_for_token(session, token.strip())
    if principal is None:
        raise HTTPException(
            401,
            "Missing or invalid bearer token: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


async def get_submitter(
    session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> JobSubmitter:
    return JobSubmitter(session, temporal, settings)


SubmitterDep = Annotated[JobSubmitter, Depends(get_submitter)]


async def correlation_id(request: Request) -> str:
    value: str = request.state.correlation_id
    return value


CorrelationId = Annotated[str, Depends(correlation_id)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Same key, same job; the same key with another payload is a 409.",
    ),
]
