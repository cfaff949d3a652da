"""Sequences, enrollments, deliveries and stop conditions; every query within one org."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.auth import Principal
from conveyor.email.requests import ContactIn, EmailEventIn, SequenceIn
from conveyor.email.states import (
    EnrollmentStatus,
    SequenceStatus,
    StopReason,
)
from conveyor.email.templates import StepTemplate, TemplateProblem, render
from conveyor.errors import BadRequest, Conflict
from conveyor.models import (
    EmailDelivery,
    EmailSequence,
    EmailSuppression,
    SequenceEnrollment,
    SequenceStep,
)
from conveyor.tenancy import get_owned

_CHECK_URL = "https://example.invalid/unsubscribe/check"
_EVENT_REASONS = {
    "reply": StopReason.REPLIED,
    "bounce": StopReason.BOUNCED,
    "complaint": StopReason.COMPLAINED,
    "unsubscribe": StopReason.UNSUBSCRIBED,
}
_SUPPRESSING = {StopReason.COMPLAINED, StopReason.UNSUBSCRIBED}
# pause, resume, archive: from which statuses, to which.
_TRANSITIONS = {
    "pause": ({SequenceStatus.ACTIVE}, SequenceStatus.PAUSED),
    "resume": ({SequenceStatus.PAUSED}, SequenceStatus.ACTIVE),
    "archive": ({SequenceStatus.ACTIVE, SequenceStatus.PAUSED}, SequenceStatus.ARCHIVED),
}


@dataclass(frozen=True)
class Enrolled:
    enrollment: SequenceEnrollment
    created: bool


async def create_sequence(
    session: AsyncSession, principal: Principal, body: SequenceIn
) -> EmailSequence:
    sequence = EmailSequence(
        org_id=principal.org_id, user_id=principal.user_id, name=body.name, sender=body.sender
    )
    session.add(sequence)
    await session.flush()
    for position, step in enumerate(body.steps, start=1):
        session.add(
            SequenceStep(
                org_id=principal.org_id, sequence_id=sequence.id, position=position,
                delay_seconds=step.delay_seconds, subject=step.subject,
                body_text=step.body_text, body_html=step.body_html,
            )
        )  # fmt: skip
    await session.flush()
    await session.refresh(sequence)
    return sequence


async def get_sequence(
    session: AsyncSession, principal: Principal, sequence_id: uuid.UUID
) -> EmailSequence:
    return await get_owned(session, EmailSequence, sequence_id, principal, "sequence")


async def list_sequences(
    session: AsyncSession, principal: Principal, limit: int, offset: int
) -> list[EmailSequence]:
    query = (
        select(EmailSequence)
        .where(EmailSequence.org_id == principal.org_id)
        .order_by(EmailSequence.created_at.desc(), EmailSequence.id)
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(query))


async def steps_of(session: AsyncSession, sequence: EmailSequence) -> list[SequenceStep]:
    query = (
        select(SequenceStep)
        .where(SequenceStep.sequence_id == sequence.id, SequenceStep.org_id == sequence.org_id)
        .order_by(SequenceStep.position)
    )
    return list(await session.scalars(query))


async def change_sequence(
    session: AsyncSession, principal: Principal, sequence_id: uuid.UUID, action: str
) -> EmailSequence:
    """Pauses, resumes or archives; archiving stops every active enrollment (ARCHIVED)."""
    sources, target = _TRANSITIONS[action]
    sequence = await get_sequence(session, principal, sequence_id)
    if sequence.status not in sources:
        raise Conflict(
            f"sequence {sequence.id} is {sequence.status}: it cannot {action}",
            status=sequence.status,
        )
    sequence.status = target
    sequence.updated_at = func.now()
    if target == SequenceStatus.ARCHIVED:
        await _stop_where(
            session,
            StopReason.ARCHIVED,
            SequenceEnrollment.sequence_id == sequence.id,
            SequenceEnrollment.org_id == principal.org_id,
        )
    await session.flush()
    await session.refresh(sequence)
    return sequence


async def enroll(
    session: AsyncSession,
    principal: Principal,
    sequence_id: uuid.UUID,
    contacts: Sequence[ContactIn],
) -> list[Enrolled]:
    """Enrolls each contact once per sequence; all or nothing when one cannot be.

    A contact whose variables leave any step incomplete is refused, naming the
    variable; a suppressed address is enrolled already STOPPED, with the reason.
    """
    sequence = await get_sequence(session, principal, sequence_id)
    if sequence.status == SequenceStatus.ARCHIVED:
        raise Conflict(f"sequence {sequence.id} is archived: it takes no enrollments")
    steps = await steps_of(session, sequence)
    first_of: dict[str, ContactIn] = {}
    for contact in contacts:
        first_of.setdefault(contact.email, contact)
    unique = list(first_of.values())
    for index, contact in enumerate(contacts):
        _check_renders(steps, contact, index)
    suppressed = await _suppressions(session, principal.org_id, [c.email for c in unique])
    new_ids = set()
    for contact in unique:
        new_id = await session.scalar(
            insert(SequenceEnrollment)
            .values(_enrollment_values(sequence, steps[0], contact, suppressed.get(contact.email)))
            .on_conflict_do_nothing(index_elements=["sequence_id", "email"])
            .returning(SequenceEnrollment.id)
        )
        if new_id is not None:
            new_ids.add(new_id)
    rows = await session.scalars(
        select(SequenceEnrollment).where(
            SequenceEnrollment.org_id == principal.org_id,
            SequenceEnrollment.sequence_id == sequence.id,
            SequenceEnrollment.email.in_([c.email for c in unique]),
        )
    )
    by_email = {row.email: row for row in rows}
    return [Enrolled(by_email[c.email], by_email[c.email].id in new_ids) for c in unique]


def _check_renders(steps: Sequence[SequenceStep], contact: ContactIn, index: int) -> None:
    variables = {**contact.variables, "email": contact.email, "unsubscribe_url": _CHECK_URL}
    for step in steps:
        try:
            render(StepTemplate(step.subject, step.body_text, step.body_html), variables)
        except TemplateProblem as err:
            raise BadRequest(
                f"enrollments[{index}] ({contact.email}): step {step.position} {err}",
                email=contact.email,
                step=step.position,
            ) from None


def _enrollment_values(
    sequence: EmailSequence, first: SequenceStep, contact: ContactIn, suppressed: str | None
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "org_id": sequence.org_id,
        "sequence_id": sequence.id,
        "email": contact.email,
        "variables": contact.variables,
    }
    if suppressed:
        return values | {
            "status": EnrollmentStatus.STOPPED.value,
            "stop_reason": suppressed,
            "finished_at": func.now(),
        }
    return values | {"next_run_at": func.now() + _seconds(first.delay_seconds)}


def _seconds(seconds: int) -> Any:
    return func.make_interval(0, 0, 0, 0, 0, 0, seconds)


async def _suppressions(session: AsyncSession, org_id: str, emails: list[str]) -> dict[str, str]:
    rows = await session.execute(
        select(EmailSuppression.email, EmailSuppression.reason).where(
            EmailSuppression.org_id == org_id, EmailSuppression.email.in_(emails)
        )
    )
    return {row.email: row.reason for row in rows}


async def get_enrollment(
    session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID
) -> SequenceEnrollment:
    return await get_owned(session, SequenceEnrollment, enrollment_id, principal, "enrollment")


async def list_enrollments(
    session: AsyncSession, principal: Principal, sequence_id: uuid.UUID, limit: int, offset: int
) -> list[SequenceEnrollment]:
    await get_sequence(session, principal, sequence_id)
    query = (
        select(SequenceEnrollment)
        .where(
            SequenceEnrollment.org_id == principal.org_id,
            SequenceEnrollment.sequence_id == sequence_id,
        )
        .order_by(SequenceEnrollment.created_at, SequenceEnrollment.id)
        .limit(limit)
        .offset(offset)
    )
    return list(await session.scalars(query))


async def list_deliveries(
    session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID
) -> list[EmailDelivery]:
    await get_enrollment(session, principal, enrollment_id)
    query = (
        select(EmailDelivery)
        .where(
            EmailDelivery.org_id == principal.org_id,
            EmailDelivery.enrollment_id == enrollment_id,
        )
        .order_by(EmailDelivery.step)
    )
    return list(await session.scalars(query))


async def stop_enrollment(
    session: AsyncSession, principal: Principal, enrollment_id: uuid.UUID
) -> SequenceEnrollment:
    """An operator's stop; an enrollment that already ended is a 409."""
    enrollment = await get_enrollment(session, principal, enrollment_id)
    stopped = await _stop_where(
        session,
        StopReason.OPERATOR,
        SequenceEnrollment.id == enrollment.id,
        SequenceEnrollment.org_id == principal.org_id,
    )
    if not stopped:
        raise Conflict(
            f"enrollment {enrollment.id} already ended as {enrollment.status}",
            status=enrollment.status,
        )
    await session.refresh(enrollment)
    return enrollment


async def suppress(session: AsyncSession, org_id: str, email: str, reason: StopReason) -> int:
    """Suppresses the address for every sequence of the org; returns how many it stopped."""
    await session.execute(
        insert(EmailSuppression)
        .values(org_id=org_id, email=email, reason=reason.value)
        .on_conflict_do_nothing(index_elements=["org_id", "email"])
    )
    return await _stop_where(
        session,
        reason,
        SequenceEnrollment.org_id == org_id,
        SequenceEnrollment.email == email,
    )


async def unsubscribe_target(
    session: AsyncSession, enrollment_id: uuid.UUID
) -> SequenceEnrollment | None:
    """The enrollment a signed unsubscribe link names (the signature stands for the org)."""
    return await session.get(SequenceEnrollment, enrollment_id)


async def unsubscribe(session: AsyncSession, enrollment_id: uuid.UUID) -> SequenceEnrollment | None:
    """The one-click unsubscribe of the enrollment a signed link names."""
    enrollment = await unsubscribe_target(session, enrollment_id)
    if enrollment is None:
        return None
    await suppress(session, enrollment.org_id, enrollment.email, StopReason.UNSUBSCRIBED)
    return enrollment


async def apply_event(session: AsyncSession, event: EmailEventIn) -> dict[str, Any]:
    """Stops what a reply, bounce, complaint or unsubscribe concerns."""
    reason = _EVENT_REASONS[event.type]
    if event.message_id:
        row = (
            await session.execute(
                select(SequenceEnrollment.id, SequenceEnrollment.org_id, SequenceEnrollment.email)
                .join(EmailDelivery, EmailDelivery.enrollment_id == SequenceEnrollment.id)
                .where(EmailDelivery.message_id == event.message_id)
            )
        ).first()
        if row is None:
            return {"matched": False, "stopped": 0}
        org_id, email, only = row.org_id, row.email, [SequenceEnrollment.id == row.id]
    else:
        assert event.org_id is not None and event.email is not None
        org_id, email, only = event.org_id, event.email, []
    if reason in _SUPPRESSING:
        stopped = await suppress(session, org_id, email, reason)
    else:
        stopped = await _stop_where(
            session,
            reason,
            SequenceEnrollment.org_id == org_id,
            SequenceEnrollment.email == email,
            *only,
        )
    return {"matched": True, "stopped": stopped}


async def _stop_where(session: AsyncSession, reason: StopReason, *where: Any) -> int:
    result = await session.execute(
        update(SequenceEnrollment)
        .where(SequenceEnrollment.status == EnrollmentStatus.ACTIVE.value, *where)
        .values(
            status=EnrollmentStatus.STOPPED.value,
            stop_reason=reason.value,
            next_run_at=None,
            finished_at=func.now(),
        )
        .returning(SequenceEnrollment.id)
    )
    return len(result.all())
