"""Bearer tokens, tenant isolation and input validation at the HTTP edge."""

from tests.helpers import Stack


async def test_missing_or_bad_token_is_401(stack: Stack) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await stack.client.get("/api/job-runs", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_another_orgs_job_file_and_export_are_404(stack: Stack) -> None:
    owner, intruder = await stack.new_tenant(), await stack.new_tenant()
    accepted = await stack.start_export(owner, {"entity": "sessions"})
    run = await stack.wait_for(owner, accepted["jobRunId"])
    file_id = run["result"]["fileObjectId"]

    for method, url in (
        ("GET", f"/api/job-runs/{accepted['jobRunId']}"),
        ("POST", f"/api/job-runs/{accepted['jobRunId']}/cancel"),
        ("GET", f"/api/exports/{accepted['exportJobId']}"),
        ("GET", f"/api/file-objects/{file_id}"),
        ("GET", f"/api/file-objects/{file_id}/download"),
    ):
        response = await stack.client.request(method, url, headers=intruder.headers)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"
        assert owner.org_id not in response.text
    listed = await stack.client.get("/api/job-runs", headers=intruder.headers)
    assert listed.json()["items"] == []


async def test_bad_entity_or_format_is_400_and_queues_nothing(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    cases = [
        (
            "GET",
            "/api/export/async?entity=invoices&format=csv",
            None,
            "allowed: job_runs, sessions",
        ),
        ("GET", "/api/export/async?entity=sessions&format=pdf", None, "allowed: csv, ndjson"),
        ("POST", "/api/exports", {"entity": "invoices"}, "allowed: job_runs, sessions"),
        ("POST", "/api/exports", {"entity": "sessions", "format": "xml"}, "allowed: csv, ndjson"),
        (
            "POST",
            "/api/exports",
            {
                "entity": "sessions",
                "filters": {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            },
            "from must be before",
        ),
        ("POST", "/api/exports", {"entity": "sessions", "columns": ["org_id"]}, "columns"),
        ("GET", "/api/export/async", None, "entity"),
    ]
    for method, url, body, fragment in cases:
        response = await stack.client.request(method, url, json=body, headers=tenant.headers)
        assert response.status_code == 400, (url, body, response.text)
        assert response.json()["code"] == "invalid_request"
        assert fragment in response.json()["message"]
    runs = await stack.sql("SELECT count(*) FROM job_runs WHERE org_id = $1", tenant.org_id)
    assert runs[0][0] == 0


async def test_get_shortcut_starts_an_export(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    response = await stack.client.get(
        "/api/export/async?entity=sessions&format=ndjson", headers=tenant.headers
    )
    assert response.status_code == 202
    body = response.json()
    assert set(body) >= {"exportJobId", "jobRunId", "status", "pollUrl"}
    run = await stack.wait_for(tenant, body["jobRunId"])
    assert run["status"] == "COMPLETED"
