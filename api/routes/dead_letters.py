"""Dead letters: jobs that failed for good, and their replay."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CorrelationId, CurrentPrincipal, SessionDep, SubmitterDep
from api.schemas import BulkFilterIn, DeadLetterOut, JobAccepted, ReplayRequest
from conveyor.jobs.bulk import as_body, replay_dead_letters
from conveyor.jobs.dead_letters import get_dead_letter, list_dead_letters, replay

router = APIRouter(prefix="/api/dead-letters", tags=["dead letters"])


@router.get("")
async def list_all(
    session: SessionDep,
    principal: CurrentPrincipal,
    job_name: str | None = None,
    replayed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DeadLetterOut]:
    rows = await list_dead_letters(
        session, principal, job_name=job_name, replayed=replayed, limit=limit, offset=offset
    )
    return [DeadLetterOut.of(row) for row in rows]


@router.post("/replay")
async def replay_many(
    where: BulkFilterIn,
    submitter: SubmitterDep,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Replays every dead letter not replayed yet that matches; says which failed and why."""
    outcome = await replay_dead_letters(submitter, principal, where.to_filter(), correlation_id)
    return as_body(outcome, "replayed")


@router.get("/{dead_letter_id}")
async def read_one(
    dead_letter_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> DeadLetterOut:
    return DeadLetterOut.of(await get_dead_letter(session, principal, dead_letter_id))


@router.post("/{dead_letter_id}/replay", status_code=202)
async def replay_one(
    dead_letter_id: uuid.UUID,
    session: SessionDep,
    submitter: SubmitterDep,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
    body: ReplayRequest | None = None,
) -> dict[str, Any]:
    dead_letter = await get_dead_letter(session, principal, dead_letter_id)
    submission = await replay(
        submitter, dead_letter, principal, body.payload if body else None, correlation_id
    )
    return {"deadLetterId": str(dead_letter.id), **JobAccepted.of(submission)}
