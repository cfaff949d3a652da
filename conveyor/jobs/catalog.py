"""Every job kind by name: what replaying a dead letter looks its kind up in."""

from conveyor.ai.service import AI_TASK_JOB
from conveyor.documents.service import DOC_INGEST_JOB
from conveyor.exports.service import EXPORT_JOB
from conveyor.jobs.kinds import JobKind

JOB_KINDS: dict[str, JobKind] = {
    kind.name.value: kind for kind in (EXPORT_JOB, AI_TASK_JOB, DOC_INGEST_JOB)
}
