"""The words sequences, enrollments and deliveries use for their states."""

from enum import StrEnum


class SequenceStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ARCHIVED = "ARCHIVED"


class EnrollmentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"


class StopReason(StrEnum):
    """Why an enrollment ended; COMPLETED means every step was sent."""

    COMPLETED = "COMPLETED"
    REPLIED = "REPLIED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    BOUNCED = "BOUNCED"
    COMPLAINED = "COMPLAINED"
    OPERATOR = "OPERATOR"
    ARCHIVED = "ARCHIVED"
    FAILED = "FAILED"  # the step could not be rendered for this contact


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


# An address the org may never email again after these, in any sequence.
SUPPRESSING_REASONS = frozenset({StopReason.UNSUBSCRIBED, StopReason.COMPLAINED})
