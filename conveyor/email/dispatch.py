"""One batch of a tick: claim due enrollments, record deliveries, send, advance.

Exactly-once per (enrollment, step) rests on three things:
- a claim (`FOR UPDATE SKIP LOCKED`, then a lease under the tick's id) so two
  ticks or two workers never hold the same enrollment;
- the `email_deliveries` row, unique per (enrollment, step), written before
  the send and marked SENT after: a retry that finds it SENT only advances;
- the advance itself, guarded on `current_step`, so replaying it is a no-op.
A message is resent only if a worker dies between the SMTP server accepting
it and the SENT write; it then carries the same deterministic Message-ID.
"""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from conveyor.db import SessionMaker
from conveyor.email import signing
from conveyor.email.message import address_of, build_message, message_id
from conveyor.email.smtp import Outbound, Outcome, SendResult, SmtpSender
from conveyor.email.states import DeliveryStatus, EnrollmentStatus, StopReason
from conveyor.email.templates import StepTemplate, TemplateProblem, render
from conveyor.models import EmailDelivery
from conveyor.settings import Settings

_CLAIM = text("""
WITH claimed AS (
    UPDATE sequence_enrollments e
    SET lease_token = :token, lease_until = now() + make_interval(secs => :lease)
    WHERE e.id IN (
        SELECT d.id FROM sequence_enrollments d
        JOIN email_sequences s ON s.id = d.sequence_id
        WHERE d.status = 'ACTIVE' AND d.next_run_at <= now() AND s.status = 'ACTIVE'
          AND (d.lease_until IS NULL OR d.lease_until < now()
               OR (CAST(:reclaim AS boolean) AND d.lease_token = :token))
        ORDER BY d.next_run_at
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    RETURNING e.id, e.org_id, e.email, e.variables, e.current_step, e.sequence_id
)
SELECT c.id, c.org_id, c.email, c.variables, c.current_step + 1 AS step, s.sender,
       st.position, st.subject, st.body_text, st.body_html, nxt.delay_seconds AS next_delay,
       sup.reason AS suppressed, dl.status AS delivered
FROM claimed c
JOIN email_sequences s ON s.id = c.sequence_id
LEFT JOIN sequence_steps st ON st.sequence_id = c.sequence_id AND st.position = c.current_step + 1
LEFT JOIN sequence_steps nxt
       ON nxt.sequence_id = c.sequence_id AND nxt.position = c.current_step + 2
LEFT JOIN email_suppressions sup ON sup.org_id = c.org_id AND sup.email = c.email
LEFT JOIN email_deliveries dl ON dl.enrollment_id = c.id AND dl.step = c.current_step + 1
""")

# Advances past a sent step; `current_step = step - 1` makes a replay a no-op.
# An enrollment stopped while its step was in flight keeps its stop.
_ADVANCE = text("""
UPDATE sequence_enrollments e SET
    current_step = v.step,
    status = CASE WHEN e.status = 'ACTIVE' AND v.next_delay IS NULL
                  THEN 'COMPLETED' ELSE e.status END,
    stop_reason = CASE WHEN e.status = 'ACTIVE' AND v.next_delay IS NULL
                       THEN 'COMPLETED' ELSE e.stop_reason END,
    finished_at = CASE WHEN e.status = 'ACTIVE' AND v.next_delay IS NULL
                       THEN now() ELSE e.finished_at END,
    next_run_at = CASE WHEN e.status = 'ACTIVE' AND v.next_delay IS NOT NULL
                       THEN now() + make_interval(secs => v.next_delay) END,
    lease_token = NULL, lease_until = NULL
FROM unnest(CAST(:ids AS uuid[]), CAST(:steps AS int[]), CAST(:delays AS int[]))
     AS v(id, step, next_delay)
WHERE e.id = v.id AND e.current_step = v.step - 1
""")

_END = text("""
UPDATE sequence_enrollments e SET
    status = v.status, stop_reason = v.reason, next_run_at = NULL, finished_at = now(),
    lease_token = NULL, lease_until = NULL
FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]))
     AS v(id, status, reason)
WHERE e.id = v.id AND e.status = 'ACTIVE'
""")

_MARK_DELIVERIES = text("""
UPDATE email_deliveries d SET
    status = v.status,
    error = v.error,
    sent_at = CASE WHEN v.status = 'SENT' THEN now() ELSE d.sent_at END
FROM unnest(CAST(:ids AS uuid[]), CAST(:steps AS int[]), CAST(:statuses AS text[]),
            CAST(:errors AS text[])) AS v(enrollment_id, step, status, error)
WHERE d.enrollment_id = v.enrollment_id AND d.step = v.step AND d.status = 'PENDING'
""")

_RELEASE = text("""
UPDATE sequence_enrollments SET lease_token = NULL, lease_until = NULL
WHERE id = ANY(CAST(:ids AS uuid[])) AND lease_token = :token
""")


@dataclass(frozen=True)
class _Due:
    id: uuid.UUID
    org_id: str
    email: str
    variables: dict[str, Any]
    step: int
    sender: str
    template: StepTemplate | None
    next_delay: int | None
    suppressed: str | None
    delivered: str | None


@dataclass
class _Send:
    due: _Due
    subject: str
    message_id: str
    outbound: Outbound


@dataclass
class BatchOutcome:
    claimed: int = 0
    sent: int = 0
    bounced: int = 0
    stopped: int = 0
    completed: int = 0
    batches: int = 0
    deferred: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    sends: list[_Send] = field(default_factory=list)
    advances: list[_Due] = field(default_factory=list)
    ends: list[tuple[uuid.UUID, str, str]] = field(default_factory=list)
    failed: list[tuple[_Due, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Batch:
    due: list[_Due]
    plan: _Plan


class BatchDispatcher:
    """Sends due steps batch by batch; safe to run again after any failure.

    Batches are pipelined: the next one is claimed, rendered and recorded
    while the current one is on the wire, so the database work hides behind
    SMTP round trips.
    """

    def __init__(self, session_maker: SessionMaker, settings: Settings, sender: SmtpSender) -> None:
        self._session_maker = session_maker
        self._settings = settings
        self._sender = sender

    async def run(self, lease_token: str, batch_size: int, max_batches: int = 1) -> BatchOutcome:
        """Sends up to `max_batches` batches; stops early at a short batch or a deferral.

        Raises SmtpNotConfigured or SigningNotConfigured before claiming anything.
        """
        self._sender.check_configured()
        key = signing.unsubscribe_key(self._settings)
        outcome = BatchOutcome()
        # Only an attempt's first claim takes back leases under this token: a
        # retried attempt resumes what its predecessor held.
        batch = await self._prepare(lease_token, batch_size, key, reclaim=True)
        while batch is not None:
            outcome.claimed += len(batch.due)
            outcome.batches += 1
            upcoming = None
            if len(batch.due) == batch_size and outcome.batches < max_batches:
                upcoming = asyncio.ensure_future(
                    self._prepare(lease_token, batch_size, key, reclaim=False)
                )
            try:
                await self._send_and_apply(batch, lease_token, outcome)
            except BaseException:
                if upcoming is not None:
                    upcoming.cancel()  # it releases what it had claimed
                raise
            batch = await upcoming if upcoming is not None else None
            if batch is not None and outcome.deferred:
                # SMTP is struggling: hand the next batch back and let the retry back off.
                await self._release([item.id for item in batch.due], lease_token)
                batch = None
        return outcome

    async def _send_and_apply(self, batch: _Batch, lease_token: str, outcome: BatchOutcome) -> None:
        sends = [s.outbound for s in batch.plan.sends]
        results = await self._sender.send_all(sends) if sends else []
        async with self._session_maker.begin() as session:
            await self._apply(session, batch.plan, results, lease_token, outcome)

    async def _prepare(
        self, lease_token: str, batch_size: int, key: bytes, reclaim: bool
    ) -> _Batch | None:
        """Claims a batch, renders it and records its deliveries; None when nothing is due."""
        due = await self._claim(lease_token, batch_size, reclaim)
        if not due:
            return None
        try:
            plan = self._plan(due, key)
            if plan.sends or plan.failed:
                await self._record_deliveries(plan)
        except BaseException:
            # Nothing was sent: the retry or the next tick may take them at once.
            # (Once sending starts, a failure keeps the lease: only this tick's
            # retry takes them back, and finds what was already recorded SENT.)
            await self._release([item.id for item in due], lease_token)
            raise
        return _Batch(due, plan)

    async def _release(self, ids: list[uuid.UUID], lease_token: str) -> None:
        async with self._session_maker.begin() as session:
            await session.execute(_RELEASE, {"ids": ids, "token": lease_token})

    async def _claim(self, lease_token: str, batch_size: int, reclaim: bool) -> list[_Due]:
        async with self._session_maker.begin() as session:
            rows = await session.execute(
                _CLAIM,
                {
                    "token": lease_token,
                    "lease": self._settings.email_lease_seconds,
                    "limit": batch_size,
                    "reclaim": reclaim,
                },
            )
            return [_due(row) for row in rows]

    def _plan(self, due: Sequence[_Due], key: bytes) -> _Plan:
        plan = _Plan()
        for item in due:
            if item.suppressed:
                plan.ends.append((item.id, EnrollmentStatus.STOPPED, item.suppressed))
            elif item.template is None:
                plan.ends.append((item.id, EnrollmentStatus.COMPLETED, StopReason.COMPLETED))
            elif item.delivered == DeliveryStatus.SENT:
                plan.advances.append(item)  # sent by an attempt that died before advancing
            elif item.delivered == DeliveryStatus.FAILED:
                plan.ends.append((item.id, EnrollmentStatus.STOPPED, StopReason.BOUNCED))
            else:
                self._plan_send(plan, item, key)
        return plan

    def _plan_send(self, plan: _Plan, item: _Due, key: bytes) -> None:
        assert item.template is not None
        url = signing.unsubscribe_url(self._settings, key, item.id)
        variables = {**item.variables, "email": item.email, "unsubscribe_url": url}
        try:
            rendered = render(item.template, variables)
        except TemplateProblem as err:
            plan.failed.append((item, f"step {item.step} cannot be rendered: {err}"))
            return
        mid = message_id(item.id, item.step, item.sender)
        uses_link = "unsubscribe_url" in (item.template.body_text + (item.template.body_html or ""))
        message = build_message(
            rendered, sender=item.sender, recipient=item.email, message_id=mid,
            unsubscribe_url=url, uses_unsubscribe_url=uses_link,
        )  # fmt: skip
        outbound = Outbound(address_of(item.sender), item.email, message)
        plan.sends.append(_Send(item, rendered.subject, mid, outbound))

    async def _record_deliveries(self, plan: _Plan) -> None:
        rows = [_delivery_row(s.due, s.subject, s.message_id) for s in plan.sends]
        rows += [_delivery_row(due, f"(step {due.step})", "") for due, _ in plan.failed]
        statement = insert(EmailDelivery).on_conflict_do_update(
            index_elements=[EmailDelivery.enrollment_id, EmailDelivery.step],
            set_={"attempts": EmailDelivery.attempts + 1},
        )
        async with self._session_maker.begin() as session:
            await session.execute(statement, rows)

    async def _apply(
        self,
        session: AsyncSession,
        plan: _Plan,
        results: Sequence[SendResult],
        lease_token: str,
        outcome: BatchOutcome,
    ) -> None:
        marks: list[tuple[_Due, str, str | None]] = []
        released: list[uuid.UUID] = []
        advances = list(plan.advances)
        for send, result in zip(plan.sends, results, strict=True):
            if result.outcome is Outcome.SENT:
                marks.append((send.due, DeliveryStatus.SENT, None))
                advances.append(send.due)
                outcome.sent += 1
            elif result.outcome is Outcome.REJECTED:
                marks.append((send.due, DeliveryStatus.FAILED, result.error))
                plan.ends.append((send.due.id, EnrollmentStatus.STOPPED, StopReason.BOUNCED))
                outcome.bounced += 1
            else:
                marks.append((send.due, DeliveryStatus.PENDING, result.error))
                released.append(send.due.id)
                outcome.deferred.append(result.error or "deferred")
        for due, error in plan.failed:
            marks.append((due, DeliveryStatus.FAILED, error))
            plan.ends.append((due.id, EnrollmentStatus.STOPPED, StopReason.FAILED))
        await _mark_deliveries(session, marks)
        await _advance(session, advances)
        await _end(session, plan.ends)
        if released:
            await session.execute(_RELEASE, {"ids": released, "token": lease_token})
        outcome.completed += sum(1 for due in advances if due.next_delay is None)
        outcome.stopped += sum(
            1 for _, status, reason in plan.ends
            if status == EnrollmentStatus.STOPPED and reason != StopReason.BOUNCED
        )  # fmt: skip


def _due(row: Any) -> _Due:
    template = None
    if row.position is not None:
        template = StepTemplate(row.subject, row.body_text, row.body_html)
    return _Due(
        id=row.id, org_id=row.org_id, email=row.email, variables=row.variables or {},
        step=row.step, sender=row.sender, template=template, next_delay=row.next_delay,
        suppressed=row.suppressed, delivered=row.delivered,
    )  # fmt: skip


def _delivery_row(due: _Due, subject: str, mid: str) -> dict[str, Any]:
    return {
        "org_id": due.org_id,
        "enrollment_id": due.id,
        "step": due.step,
        "recipient": due.email,
        "subject": subject,
        "message_id": mid or f"<{due.id}.{due.step}@unsent.invalid>",
        "attempts": 1,
    }


async def _mark_deliveries(
    session: AsyncSession, marks: Sequence[tuple[_Due, str, str | None]]
) -> None:
    if marks:
        await session.execute(
            _MARK_DELIVERIES,
            {
                "ids": [due.id for due, _, _ in marks],
                "steps": [due.step for due, _, _ in marks],
                "statuses": [status for _, status, _ in marks],
                "errors": [error for _, _, error in marks],
            },
        )


async def _advance(session: AsyncSession, advances: Sequence[_Due]) -> None:
    if advances:
        await session.execute(
            _ADVANCE,
            {
                "ids": [due.id for due in advances],
                "steps": [due.step for due in advances],
                "delays": [due.next_delay for due in advances],
            },
        )


async def _end(session: AsyncSession, ends: Sequence[tuple[uuid.UUID, str, str]]) -> None:
    if ends:
        await session.execute(
            _END,
            {
                "ids": [row[0] for row in ends],
                "statuses": [str(row[1]) for row in ends],
                "reasons": [str(row[2]) for row in ends],
            },
        )
