"""SQLAlchemy models: the schema of ARCHITECTURE.md's data model.

Every tenant-owned table carries `org_id`; queries always filter on it.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSONB,
        uuid.UUID: UUID(as_uuid=True),
        datetime: DateTime(timezone=True),
    }


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


class JobRun(Base):
    """One job as Temporal runs it; the API and SQL dashboards read this mirror."""

    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_org_queued", "org_id", text("queued_at DESC")),
        Index("ix_job_runs_dedupe", "dedupe_key", text("queued_at DESC")),
        Index("ix_job_runs_org_status", "org_id", "status"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    job_id: Mapped[str] = mapped_column(Text, unique=True)
    run_id: Mapped[str | None] = mapped_column(Text)
    job_name: Mapped[str] = mapped_column(Text)
    task_queue: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="QUEUED")
    org_id: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(Text)
    entity_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    attempt: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    payload: Mapped[dict[str, Any]]
    payload_hash: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    replay_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dead_letters.id"))
    correlation_id: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = _created_at()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class FileObject(Base):
    __tablename__ = "file_objects"
    __table_args__ = (UniqueConstraint("bucket", "key"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text, index=True)
    bucket: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class ExportJob(Base):
    __tablename__ = "export_jobs"

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text, index=True)
    user_id: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(Text, server_default="QUEUED")
    file_object_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("file_objects.id"))
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _created_at()


class AiTask(Base):
    """An AI text task: its input, the model's output, and what it cost."""

    __tablename__ = "ai_tasks"
    __table_args__ = (Index("ix_ai_tasks_org_created", "org_id", text("created_at DESC")),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    input: Mapped[dict[str, Any]]
    model: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="QUEUED")
    output: Mapped[dict[str, Any] | None]
    tokens_in: Mapped[int] = mapped_column(Integer, server_default="0")
    tokens_out: Mapped[int] = mapped_column(Integer, server_default="0")
    # Exact: a summary costs fractions of a cent, and sums must not drift.
    cost_cents: Mapped[Decimal] = mapped_column(Numeric, server_default="0")
    price_version: Mapped[str | None] = mapped_column(Text)
    calls: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Document(Base):
    """An uploaded (or exported) file whose pages are turned into text."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_org_created", "org_id", text("created_at DESC")),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text)
    owner_user_id: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    file_object_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("file_objects.id"))
    filename: Mapped[str | None] = mapped_column(Text)
    mime_type: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="UPLOADED")
    page_count: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class DocumentPage(Base):
    __tablename__ = "document_pages"

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    page_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None]


class DocumentArtifact(Base):
    __tablename__ = "document_artifacts"
    __table_args__ = (UniqueConstraint("document_id", "type"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    file_object_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("file_objects.id"))
    created_at: Mapped[datetime] = _created_at()


class DeadLetter(Base):
    """A job that failed for good; replay starts a fresh job linked by `replay_of`."""

    __tablename__ = "dead_letters"

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text, index=True)
    job_run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("job_runs.id", use_alter=True), unique=True
    )
    job_id: Mapped[str] = mapped_column(Text)
    job_name: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    failed_at: Mapped[datetime] = _created_at()
    replayed_job_id: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token, stored as its SHA-256: the plain token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, server_default="")
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None]


class Session(Base):
    """The product's sample domain entity: a user's visit, what exports read."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_org_started", "org_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    duration_seconds: Mapped[int] = mapped_column(Integer)
    country: Mapped[str] = mapped_column(Text)
    device: Mapped[str] = mapped_column(Text)
    page_views: Mapped[int] = mapped_column(Integer)
    landing_page: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class EmailSequence(Base):
    """Ordered email steps a contact receives one after another (ACTIVE, PAUSED, ARCHIVED)."""

    __tablename__ = "email_sequences"
    __table_args__ = (Index("ix_email_sequences_org_created", "org_id", text("created_at DESC")),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="ACTIVE")
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class SequenceStep(Base):
    """One email of a sequence; `position` counts from 1, `delay_seconds` from the one before."""

    __tablename__ = "sequence_steps"
    __table_args__ = (UniqueConstraint("sequence_id", "position"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text)
    sequence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("email_sequences.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    delay_seconds: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)


class SequenceEnrollment(Base):
    """A contact going through a sequence; the tick sends its next step at `next_run_at`.

    `current_step` is how many steps were sent. A tick claims a due enrollment
    by setting `lease_token` and `lease_until`, so no other tick takes it.
    """

    __tablename__ = "sequence_enrollments"
    __table_args__ = (
        UniqueConstraint("sequence_id", "email"),
        Index(
            "ix_sequence_enrollments_due",
            "next_run_at",
            postgresql_where=text("status = 'ACTIVE'"),
        ),
        Index("ix_sequence_enrollments_org_email", "org_id", "email"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text)
    sequence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("email_sequences.id"))
    email: Mapped[str] = mapped_column(Text)
    variables: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(Text, server_default="ACTIVE")
    current_step: Mapped[int] = mapped_column(Integer, server_default="0")
    next_run_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(Text)
    lease_token: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_at()
    finished_at: Mapped[datetime | None]


class EmailDelivery(Base):
    """One step sent (or tried) to one enrollment: at most one per (enrollment, step)."""

    __tablename__ = "email_deliveries"
    __table_args__ = (UniqueConstraint("enrollment_id", "step"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[str] = mapped_column(Text)
    enrollment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sequence_enrollments.id", ondelete="CASCADE")
    )
    step: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(Text, server_default="PENDING")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = _created_at()
    sent_at: Mapped[datetime | None]


class EmailSuppression(Base):
    """An address no sequence of the org may email again (unsubscribed, complained)."""

    __tablename__ = "email_suppressions"

    org_id: Mapped[str] = mapped_column(Text, primary_key=True)
    email: Mapped[str] = mapped_column(Text, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
