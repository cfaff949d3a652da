"""Names shared by the API, the workflows and the workers.

Task queues, job names and search-attribute keys are defined here once so a
typo cannot route a job to a queue no worker listens on.
"""

from enum import StrEnum

from temporalio.common import SearchAttributeKey


class TaskQueue(StrEnum):
    EXPORTS = "exports"
    AI = "ai"
    DOCS = "docs"
    EMAIL = "email"
    MAINTENANCE = "maintenance"


class JobName(StrEnum):
    EXPORT = "export"
    AI_TASK = "ai_task"
    DOC_INGEST = "doc_ingest"
    RETENTION = "retention"
    EMAIL_TICK = "email_tick"


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})

# A job whose last run ended like this may be submitted again with the same
# payload inside its dedupe window and gets a fresh run.
RERUNNABLE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})

SA_ORG_ID = SearchAttributeKey.for_keyword("OrgId")
SA_JOB_NAME = SearchAttributeKey.for_keyword("JobName")
SA_ENTITY_TYPE = SearchAttributeKey.for_keyword("EntityType")
SA_ENTITY_ID = SearchAttributeKey.for_keyword("EntityId")
SEARCH_ATTRIBUTES = (SA_ORG_ID, SA_JOB_NAME, SA_ENTITY_TYPE, SA_ENTITY_ID)

CORRELATION_HEADER = "X-Request-ID"

# Jobs the system schedules for itself (email ticks, retention) serve every
# org; their job_runs rows carry this org, which no API token has.
SYSTEM_ORG = "system"
SYSTEM_USER = "scheduler"
