"""The export activity and its query builder, without a Temporal server."""

from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.export import ExportActivities
from conveyor.exports.payloads import ExportActivityInput
from conveyor.exports.registry import build_query
from conveyor.jobs.errors import BAD_INPUT
from conveyor.jobs.payloads import JobRef
from conveyor.storage import create_s3_client
from tests.helpers import Stack

JOB = JobRef(
    job_run_id="00000000-0000-0000-0000-000000000000",
    job_id="export-test-1",
    job_name="export",
    org_id="org-unit",
    user_id="user-1",
)


def test_query_is_scoped_to_the_org_and_bounded_by_the_filters() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    query = build_query("sessions", "csv", "org-a", since, None)
    assert "WHERE org_id = $1 AND started_at >= $2 ORDER BY started_at, id" in query.copy_sql
    assert "org_id," not in query.copy_sql.split("FROM")[0]
    assert query.args == ("org-a", since)
    assert query.count_sql.endswith("WHERE org_id = $1 AND started_at >= $2")


def test_ndjson_wraps_each_row_in_json() -> None:
    query = build_query("job_runs", "ndjson", "org-a", None, None)
    assert query.copy_sql.startswith("SELECT row_to_json(r) FROM (SELECT id, job_id")


@pytest.mark.parametrize(
    ("entity", "fmt", "message"),
    [("ghosts", "csv", "entity 'ghosts' is not exportable"), ("sessions", "xls", "format 'xls'")],
)
async def test_unknown_entity_or_format_fails_without_retry(
    stack: Stack, entity: str, fmt: str, message: str
) -> None:
    activities = ExportActivities(
        stack.session_maker, create_s3_client(stack.settings), stack.settings
    )
    request = ExportActivityInput(JOB, "00000000-0000-0000-0000-000000000001", entity, fmt)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(activities.stream_export, request)
    assert raised.value.non_retryable
    assert raised.value.type == BAD_INPUT
    assert message in raised.value.message
