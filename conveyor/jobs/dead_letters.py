"""Dead letters: listing them, and replaying one as a fresh job linked to it."""

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.auth import Principal
from conveyor.errors import (
    BadRequest,
    Conflict,
    IdempotencyKeyReused,
    describe_validation,
)
from conveyor.jobs.catalog import JOB_KINDS
from conveyor.jobs.submit import JobRequest, JobSubmitter, Submission
from conveyor.models import DeadLetter, JobRun
from conveyor.tenancy import get_owned


async def list_dead_letters(
    session: AsyncSession,
    principal: Principal,
    *,
    job_name: str | None,
    replayed: bool | None,
    limit: int,
    offset: int,
) -> list[DeadLetter]:
    query = select(DeadLetter).where(DeadLetter.org_id == principal.org_id)
    if job_name:
        query = query.where(DeadLetter.job_name == job_name)
    if replayed is not None:
        query = query.where(
            DeadLetter.replayed_job_id.is_not(None)
            if replayed
            else DeadLetter.replayed_job_id.is_(None)
        )
    query = query.order_by(DeadLetter.failed_at.desc(), DeadLetter.id).limit(limit).offset(offset)
    return list(await session.scalars(query))


async def get_dead_letter(
    session: AsyncSession, principal: Principal, dead_letter_id: uuid.UUID
) -> DeadLetter:
    return await get_owned(session, DeadLetter, dead_letter_id, principal, "dead letter")


async def replay(
    submitter: JobSubmitter,
    dead_letter: DeadLetter,
    principal: Principal,
    payload: dict[str, Any] | None,
    correlation_id: str | None,
) -> Submission:
    """Starts a fresh job from the dead letter's payload, or from an edited one.

    Replaying is idempotent per dead letter: replaying again returns the same
    job while it lives, and a different payload for it is refused with 409.
    """
    kind = JOB_KINDS.get(dead_letter.job_name)
    if kind is None:
        raise BadRequest(f"job kind {dead_letter.job_name!r} no longer exists")
    try:
        parsed = kind.parse_payload(payload if payload is not None else dead_letter.payload)
    except ValidationError as err:
        raise BadRequest(f"invalid payload: {describe_validation(err.errors())}") from err
    # The replay runs as the failed job's user, so replaying is idempotent per
    # dead letter whoever in the org asks, and usage stays with that user.
    failed_run = await submitter.session.get(JobRun, dead_letter.job_run_id)
    assert failed_run is not None
    request = JobRequest(
        principal=Principal(dead_letter.org_id, failed_run.user_id),
        payload=parsed,
        idempotency_key=f"replay:{dead_letter.id}",
        correlation_id=correlation_id,
        replay_of=dead_letter.id,
    )
    try:
        submission = await submitter.submit(kind, request)
    except IdempotencyKeyReused as err:
        raise Conflict(
            f"dead letter {dead_letter.id} was already replayed with a different payload",
            **err.details,
        ) from err
    # Committed by the request's session, which loaded the dead letter.
    dead_letter.replayed_job_id = submission.run.job_id
    return submission
