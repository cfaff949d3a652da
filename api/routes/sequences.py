"""Email sequences: define them, pause/resume/archive them, enroll contacts, see deliveries."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import Schema
from conveyor.auth import Principal
from conveyor.email import service
from conveyor.email.requests import ContactIn, ContactsIn, SequenceIn
from conveyor.models import EmailDelivery, EmailSequence, SequenceEnrollment, SequenceStep

router = APIRouter(prefix="/api", tags=["email sequences"])


class StepOut(Schema):
    position: int
    delay_seconds: int
    subject: str
    body_text: str
    body_html: str | None


class SequenceOut(Schema):
    id: uuid.UUID
    name: str
    sender: str
    status: str
    steps: list[StepOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, sequence: EmailSequence, steps: list[SequenceStep]) -> "SequenceOut":
        return cls(
            id=sequence.id, name=sequence.name, sender=sequence.sender, status=sequence.status,
            steps=[StepOut.model_validate(step) for step in steps],
            created_at=sequence.created_at, updated_at=sequence.updated_at,
        )  # fmt: skip


class EnrollmentOut(Schema):
    id: uuid.UUID
    sequence_id: uuid.UUID
    email: str
    variables: dict[str, Any]
    status: str
    current_step: int
    next_run_at: datetime | None
    stop_reason: str | None
    created_at: datetime
    finished_at: datetime | None


class EnrolledOut(EnrollmentOut):
    created: bool


class EnrollResult(Schema):
    enrollments: list[EnrolledOut]


class DeliveryOut(Schema):
    step: int
    recipient: str
    subject: str
    message_id: str
    status: str
    error: str | None
    attempts: int
    sent_at: datetime | None
    created_at: datetime


@router.post("/sequences", status_code=201)
async def create_sequence(
    body: SequenceIn, session: SessionDep, principal: CurrentPrincipal
) -> SequenceOut:
    sequence = await service.create_sequence(session, principal, body)
    return SequenceOut.of(sequence, await service.steps_of(session, sequence))


@router.get("/sequences")
async def list_sequences(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[SequenceOut]:
    sequences = await service.list_sequences(session, principal, limit, offset)
    return [SequenceOut.of(s, await service.steps_of(session, s)) for s in sequences]


@router.get("/sequences/{sequence_id}")
async def read_sequence(
    sequence_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> SequenceOut:
    sequence = await service.get_sequence(session, principal, sequence_id)
    return SequenceOut.of(sequence, await service.steps_of(session, sequence))


@router.post("/sequences/{sequence_id}/pause")
async def pause_sequence(
    sequence_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> SequenceOut:
    """Holds every enrollment where it is: nothing is sent until it is resumed."""
    return await _change(session, principal, sequence_id, "pause")


@router.post("/sequences/{sequence_id}/resume")
async def resume_sequence(
    sequence_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> SequenceOut:
    """Steps that fell due while paused go out at the next tick."""
    return await _change(session, principal, sequence_id, "resume")


@router.post("/sequences/{sequence_id}/archive")
async def archive_sequence(
    sequence_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> SequenceOut:
    """Stops every active enrollment (`stopReason: ARCHIVED`); for good."""
    return await _change(session, principal, sequence_id, "archive")


async def _change(
    session: AsyncSession, principal: Principal, sequence_id: uuid.UUID, action: str
) -> SequenceOut:
    sequence = await service.change_sequence(session, principal, sequence_id, action)
    return SequenceOut.of(sequence, await service.steps_of(session, sequence))


@router.post("/sequences/{sequence_id}/enrollments")
async def enroll(
    sequence_id: uuid.UUID,
    body: ContactsIn | ContactIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> EnrollResult:
    """Enrolls one contact or many; the same email again in this sequence is the same enrollment.

    201 when at least one enrollment is new, 200 when all already existed.
    """
    contacts = body.enrollments if isinstance(body, ContactsIn) else [body]
    enrolled = await service.enroll(session, principal, sequence_id, contacts)
    response.status_code = 201 if any(e.created for e in enrolled) else 200
    return EnrollResult(
        enrollments=[EnrolledOut(**_fields(e.enrollment), created=e.created) for e in enrolled]
    )


@router.get("/sequences/{sequence_id}/enrollments")
async def list_enrollments(
    sequence_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[EnrollmentOut]:
    rows = await service.list_enrollments(session, principal, sequence_id, limit, offset)
    return [EnrollmentOut.model_validate(row) for row in rows]


@router.get("/enrollments/{enrollment_id}")
async def read_enrollment(
    enrollment_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> EnrollmentOut:
    return EnrollmentOut.model_validate(
        await service.get_enrollment(session, principal, enrollment_id)
    )


@router.post("/enrollments/{enrollment_id}/stop")
async def stop_enrollment(
    enrollment_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> EnrollmentOut:
    """Stops it for good (`stopReason: OPERATOR`); 409 when it had already ended."""
    return EnrollmentOut.model_validate(
        await service.stop_enrollment(session, principal, enrollment_id)
    )


@router.get("/enrollments/{enrollment_id}/deliveries")
async def list_deliveries(
    enrollment_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> list[DeliveryOut]:
    rows: list[EmailDelivery] = await service.list_deliveries(session, principal, enrollment_id)
    return [DeliveryOut.model_validate(row) for row in rows]


def _fields(enrollment: SequenceEnrollment) -> dict[str, Any]:
    return EnrollmentOut.model_validate(enrollment).model_dump()
