"""Notify `job_runs` changes on the `job_runs` channel, for live status (SSE).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A trigger rather than calls in the mirror: every writer of job_runs (the
# mirror, the submitter, a batch's progress, an operator's UPDATE) notifies.
# The payload is the run's id only; listeners read the row they may see.
_FUNCTION = """
CREATE FUNCTION conveyor_notify_job_run() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('job_runs', NEW.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

_TRIGGER = """
CREATE TRIGGER job_runs_notify
AFTER UPDATE OF status, progress, attempt, error, result ON job_runs
FOR EACH ROW
WHEN ((OLD.status, OLD.progress, OLD.attempt, OLD.error, OLD.result)
      IS DISTINCT FROM (NEW.status, NEW.progress, NEW.attempt, NEW.error, NEW.result))
EXECUTE FUNCTION conveyor_notify_job_run()
"""


def upgrade() -> None:
    op.execute(_FUNCTION)
    op.execute(_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER job_runs_notify ON job_runs")
    op.execute("DROP FUNCTION conveyor_notify_job_run()")
