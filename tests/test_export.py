"""Exports end to end through the HTTP API: request, poll, download, compare."""

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers import Stack, Tenant

AWKWARD_NOTES = [
    "comma, separated",
    'say "hello"',
    "two\nlines",
    "windows\r\nline break",
    "Zürich café ☕ 東京",
    "  padded  ",
    None,
    "plain",
]
COLUMNS = (
    "id, user_id, started_at, ended_at, duration_seconds, country, device, page_views,"
    " landing_page, note"
)


async def _insert_sessions(stack: Stack, tenant: Tenant) -> None:
    base = datetime(2026, 6, 1, tzinfo=UTC)
    rows = [
        (
            tenant.org_id,
            f"user-{i % 3}",
            base + timedelta(hours=i),
            base + timedelta(hours=i, minutes=5) if i % 4 else None,
            300,
            "FR",
            "mobile, tablet",
            i,
            f"/pages/{i}?q=a,b",
            note,
        )
        for i, note in enumerate(AWKWARD_NOTES * 3)
    ]
    await stack.sql_many(
        f"INSERT INTO sessions (org_id, {COLUMNS.split(', ', 1)[1]})"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        rows,
    )


async def _expected_rows(stack: Stack, tenant: Tenant) -> list[dict[str, Any]]:
    records = await stack.sql(
        f"SELECT {COLUMNS} FROM sessions WHERE org_id = $1 ORDER BY started_at, id",
        tenant.org_id,
    )
    return [dict(record) for record in records]


async def _export(
    stack: Stack, tenant: Tenant, body: dict[str, Any]
) -> tuple[dict[str, Any], bytes]:
    accepted = await stack.start_export(tenant, body)
    assert accepted["status"] == "QUEUED"
    assert accepted["pollUrl"] == f"/api/job-runs/{accepted['jobRunId']}"
    run = await stack.wait_for(tenant, accepted["jobRunId"])
    assert run["status"] == "COMPLETED", run
    assert run["progress"] == 100
    return run, await stack.download(tenant, run["result"]["fileObjectId"])


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ").replace("+00:00", "+00")
    return str(value)


async def test_csv_export_matches_database_including_awkward_text(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    await _insert_sessions(stack, tenant)
    run, body = await _export(stack, tenant, {"entity": "sessions", "format": "csv"})

    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    expected = await _expected_rows(stack, tenant)
    assert rows[0] == [name.strip() for name in COLUMNS.split(",")]
    assert rows[1:] == [[_csv_value(v) for v in row.values()] for row in expected]
    assert run["result"]["rowCount"] == len(expected) == 24
    assert "two\nlines" in {row[-1] for row in rows}


async def test_ndjson_export_matches_database(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    await _insert_sessions(stack, tenant)
    run, body = await _export(stack, tenant, {"entity": "sessions", "format": "ndjson"})

    documents = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    expected = await _expected_rows(stack, tenant)
    assert len(documents) == len(expected) == run["result"]["rowCount"]
    for document, row in zip(documents, expected, strict=True):
        assert document["note"] == row["note"]
        assert document["landing_page"] == row["landing_page"]
        assert datetime.fromisoformat(document["started_at"]) == row["started_at"]
        assert document["ended_at"] is None or (
            datetime.fromisoformat(document["ended_at"]) == row["ended_at"]
        )


async def test_export_records_file_object_and_export_row(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    await _insert_sessions(stack, tenant)
    accepted = await stack.start_export(tenant, {"entity": "sessions"})
    run = await stack.wait_for(tenant, accepted["jobRunId"])
    body = await stack.download(tenant, run["result"]["fileObjectId"])

    export = (
        await stack.client.get(f"/api/exports/{accepted['exportJobId']}", headers=tenant.headers)
    ).json()
    assert export["status"] == "COMPLETED"
    assert export["rowCount"] == 24
    assert export["downloadUrl"] == f"/api/file-objects/{run['result']['fileObjectId']}/download"
    file = (
        await stack.client.get(
            f"/api/file-objects/{run['result']['fileObjectId']}", headers=tenant.headers
        )
    ).json()
    assert file["sizeBytes"] == len(body)
    assert file["sha256"] == hashlib.sha256(body).hexdigest()
    assert file["contentType"].startswith("text/csv")


async def test_date_range_filter_limits_rows(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    await _insert_sessions(stack, tenant)
    window = {"from": "2026-06-01T05:00:00Z", "to": "2026-06-01T10:00:00Z"}
    run, body = await _export(
        stack, tenant, {"entity": "sessions", "format": "csv", "filters": window}
    )
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    assert [row["started_at"][:13] for row in rows] == [
        f"2026-06-01 {hour:02d}" for hour in range(5, 10)
    ]
    assert run["result"]["rowCount"] == 5


async def test_job_runs_entity_exports_only_the_callers_org(stack: Stack) -> None:
    tenant, other = await stack.new_tenant(), await stack.new_tenant()
    await _export(stack, other, {"entity": "sessions"})
    first, _ = await _export(stack, tenant, {"entity": "sessions"})
    _, body = await _export(stack, tenant, {"entity": "job_runs", "format": "csv"})
    exported_ids = {row["id"] for row in csv.DictReader(io.StringIO(body.decode()))}
    assert first["id"] in exported_ids
    org_runs = await stack.sql("SELECT id FROM job_runs WHERE org_id = $1", tenant.org_id)
    assert exported_ids <= {str(record["id"]) for record in org_runs}
