"""Email sequences end to end: the API, ticks on Temporal, a real SMTP sink, PostgreSQL.

Time is driven through `next_run_at`: a test makes a step due in SQL, then
runs a tick workflow on the email stack's worker.
"""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, ScheduleOverlapPolicy

from conveyor.email.schedule import (
    ensure_email_schedule,
    schedule_id,
    start_tick,
    trigger_tick,
)
from conveyor.email.sink import Received, SmtpSink
from tests.helpers import Stack, Tenant

THREE_STEPS = [
    {
        "delaySeconds": 0,
        "subject": "Welcome, {{ first_name }}",
        "bodyText": "Hi {{ first_name }}, thanks for joining {{ company }}.",
        "bodyHtml": "<p>Hi <b>{{ first_name }}</b> of {{ company }}</p>",
    },
    {"delaySeconds": 3600, "subject": "Tips for {{ company }}", "bodyText": "Step two."},
    {"delaySeconds": 7200, "subject": "Last one", "bodyText": "Bye {{ first_name }}."},
]


def address(tenant: Tenant, name: str) -> str:
    return f"{name}@{tenant.org_id}.example.com"


async def create_sequence(
    stack: Stack, tenant: Tenant, steps: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body = {"name": "Onboarding", "sender": "Acme <hello@acme.test>", "steps": steps or THREE_STEPS}
    response = await stack.client.post("/api/sequences", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def enroll(
    stack: Stack, tenant: Tenant, sequence_id: str, *contacts: dict[str, Any]
) -> list[dict[str, Any]]:
    response = await stack.client.post(
        f"/api/sequences/{sequence_id}/enrollments",
        json={"enrollments": list(contacts)},
        headers=tenant.headers,
    )
    assert response.status_code in (200, 201), response.text
    result: list[dict[str, Any]] = response.json()["enrollments"]
    return result


def contact(email: str, first_name: str = "Ada", company: str = "Acme") -> dict[str, Any]:
    return {"email": email, "variables": {"first_name": first_name, "company": company}}


async def make_due(stack: Stack, *enrollment_ids: str) -> None:
    await stack.sql(
        "UPDATE sequence_enrollments SET next_run_at = now() - interval '1 second'"
        " WHERE id = ANY($1::uuid[])",
        [uuid.UUID(e) for e in enrollment_ids],
    )


async def tick(stack: Stack, **settings: Any) -> dict[str, Any]:
    """Runs one tick workflow to its end; returns its `job_runs` row."""
    client = await Client.connect(stack.settings.temporal_address)
    handle = await start_tick(client, stack.settings.model_copy(update=settings))
    await handle.result()
    rows = await stack.sql("SELECT * FROM job_runs WHERE job_id = $1", handle.id)
    return dict(rows[0]) | {"result": json.loads(rows[0]["result"] or "null")}


async def enrollment(stack: Stack, tenant: Tenant, enrollment_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await stack.get(tenant, f"/api/enrollments/{enrollment_id}")
    return result


async def deliveries(stack: Stack, tenant: Tenant, enrollment_id: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await stack.get(
        tenant, f"/api/enrollments/{enrollment_id}/deliveries"
    )
    return result


def text_body(received: Received) -> str:
    part = received.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_three_step_sequence_sends_each_step_only_when_due(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    to = address(tenant, "ada")
    [enrolled] = await enroll(email_stack, tenant, sequence["id"], contact(to, company="<Acme>"))
    assert enrolled["status"] == "ACTIVE" and enrolled["currentStep"] == 0

    run = await tick(email_stack)
    first = await enrollment(email_stack, tenant, enrolled["id"])
    [mail] = sink.handler.to(to)
    message = mail.message
    [delivery] = await deliveries(email_stack, tenant, enrolled["id"])

    assert run["status"] == "COMPLETED" and run["org_id"] == "system"
    assert run["job_name"] == "email_tick" and run["result"]["sent"] >= 1
    assert first["currentStep"] == 1 and first["status"] == "ACTIVE"
    next_run = datetime.fromisoformat(first["nextRunAt"])
    assert abs(next_run - datetime.now(UTC) - timedelta(hours=1)) < timedelta(minutes=1)
    assert message["Subject"] == "Welcome, Ada"
    assert message["From"] == "Acme <hello@acme.test>" and message["To"] == to
    assert message["Message-ID"] == delivery["messageId"] == f"<{enrolled['id']}.1@acme.test>"
    assert "Hi Ada, thanks for joining <Acme>." in text_body(mail)
    html = message.get_body(("html",))
    assert html is not None and "<b>Ada</b> of &lt;Acme&gt;" in html.get_content()
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://conveyor/unsubscribe/") and link in text_body(mail)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert delivery["status"] == "SENT" and delivery["step"] == 1 and delivery["recipient"] == to

    await tick(email_stack)
    assert len(sink.handler.to(to)) == 1  # step two is not due yet

    for step in (2, 3):
        await make_due(email_stack, enrolled["id"])
        await tick(email_stack)
        assert len(sink.handler.to(to)) == step
    done = await enrollment(email_stack, tenant, enrolled["id"])
    sent = await deliveries(email_stack, tenant, enrolled["id"])

    assert [m.message["Subject"] for m in sink.handler.to(to)][1:] == [
        "Tips for <Acme>",
        "Last one",
    ]
    assert text_body(sink.handler.to(to)[2]).startswith("Bye Ada.")
    assert done["status"] == "COMPLETED" and done["stopReason"] == "COMPLETED"
    assert done["currentStep"] == 3 and done["nextRunAt"] is None
    assert [(d["step"], d["status"]) for d in sent] == [(1, "SENT"), (2, "SENT"), (3, "SENT")]
    assert all(d["sentAt"] for d in sent)


async def test_enrolling_twice_is_idempotent(email_stack: Stack) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    to = address(tenant, "bob")
    [first] = await enroll(email_stack, tenant, sequence["id"], contact(to))
    again = await enroll(email_stack, tenant, sequence["id"], contact(to.upper()), contact(to))

    assert first["created"] is True
    assert [(e["id"], e["created"]) for e in again] == [(first["id"], False)]
    listed = await email_stack.get(tenant, f"/api/sequences/{sequence['id']}/enrollments")
    assert [e["id"] for e in listed] == [first["id"]]


async def test_bad_input_is_refused_with_a_message_naming_it(email_stack: Stack) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    url = f"/api/sequences/{sequence['id']}/enrollments"
    missing = {"email": address(tenant, "x"), "variables": {"first_name": "X"}}
    cases = [
        (url, {"enrollments": [missing]}, "step 1 body_text uses variable 'company', which is not"),
        (url, {"email": "not-an-email", "variables": {}}, "not a valid email address"),
        (
            "/api/sequences",
            {"name": "x", "sender": "a@b.test", "steps": [{**THREE_STEPS[0], "subject": "{{ x"}]},
            "subject",
        ),
        ("/api/sequences", {"name": "x", "sender": "nope", "steps": THREE_STEPS}, "sender"),
    ]
    for path, body, fragment in cases:
        response = await email_stack.client.post(path, json=body, headers=tenant.headers)
        assert response.status_code == 400, (body, response.text)
        assert fragment in response.json()["message"], response.json()
    assert await email_stack.get(tenant, url) == []


async def test_templates_are_sandboxed(email_stack: Stack) -> None:
    tenant = await email_stack.new_tenant()
    step = {"delaySeconds": 0, "subject": "x", "bodyText": "{{ ''.__class__.__mro__ }}"}
    sequence = await create_sequence(email_stack, tenant, [step])
    response = await email_stack.client.post(
        f"/api/sequences/{sequence['id']}/enrollments",
        json={"email": address(tenant, "a"), "variables": {}},
        headers=tenant.headers,
    )
    assert response.status_code == 400
    assert "unsafe" in response.json()["message"], response.json()


async def test_paused_sequence_sends_nothing_until_resumed(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    to = address(tenant, "paused")
    paused = await email_stack.client.post(
        f"/api/sequences/{sequence['id']}/pause", headers=tenant.headers
    )
    await enroll(email_stack, tenant, sequence["id"], contact(to))
    await tick(email_stack)
    assert paused.json()["status"] == "PAUSED" and sink.handler.to(to) == []

    resumed = await email_stack.client.post(
        f"/api/sequences/{sequence['id']}/resume", headers=tenant.headers
    )
    await tick(email_stack)
    assert resumed.json()["status"] == "ACTIVE" and len(sink.handler.to(to)) == 1


async def test_operator_stop_ends_the_enrollment_and_other_orgs_see_nothing(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant, other = await email_stack.new_tenant(), await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    to = address(tenant, "stopme")
    [enrolled] = await enroll(email_stack, tenant, sequence["id"], contact(to))
    base = f"/api/enrollments/{enrolled['id']}"
    for method, path in [
        ("GET", base),
        ("GET", f"{base}/deliveries"),
        ("POST", f"{base}/stop"),
        ("GET", f"/api/sequences/{sequence['id']}"),
        ("POST", f"/api/sequences/{sequence['id']}/archive"),
        ("POST", f"/api/sequences/{sequence['id']}/enrollments"),
    ]:
        body = contact(address(other, "x")) if path.endswith("enrollments") else None
        response = await email_stack.client.request(method, path, json=body, headers=other.headers)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "not_found"
    assert await email_stack.get(other, "/api/sequences") == []

    stopped = await email_stack.client.post(f"{base}/stop", headers=tenant.headers)
    again = await email_stack.client.post(f"{base}/stop", headers=tenant.headers)
    await tick(email_stack)

    assert stopped.json()["status"] == "STOPPED" and stopped.json()["stopReason"] == "OPERATOR"
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert sink.handler.to(to) == []


async def test_archiving_stops_every_enrollment_and_refuses_new_ones(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    emails = [address(tenant, f"arch{i}") for i in range(2)]
    enrolled = await enroll(email_stack, tenant, sequence["id"], *map(contact, emails))
    archived = await email_stack.client.post(
        f"/api/sequences/{sequence['id']}/archive", headers=tenant.headers
    )
    refused = await email_stack.client.post(
        f"/api/sequences/{sequence['id']}/enrollments",
        json=contact(address(tenant, "late")),
        headers=tenant.headers,
    )
    resume = await email_stack.client.post(
        f"/api/sequences/{sequence['id']}/resume", headers=tenant.headers
    )
    await tick(email_stack)

    assert archived.json()["status"] == "ARCHIVED"
    for e in enrolled:
        row = await enrollment(email_stack, tenant, e["id"])
        assert (row["status"], row["stopReason"], row["nextRunAt"]) == ("STOPPED", "ARCHIVED", None)
    assert refused.status_code == 409 and resume.status_code == 409
    assert all(sink.handler.to(e) == [] for e in emails)


async def test_two_concurrent_ticks_send_each_due_step_exactly_once(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    emails = [address(tenant, f"c{i}") for i in range(40)]
    enrolled = await enroll(email_stack, tenant, sequence["id"], *map(contact, emails))

    runs = await asyncio.gather(*(tick(email_stack, email_batch_size=7) for _ in range(2)))
    rows = await email_stack.sql(
        "SELECT count(*) AS n, count(DISTINCT enrollment_id) AS d FROM email_deliveries"
        " WHERE org_id = $1 AND status = 'SENT'",
        tenant.org_id,
    )

    assert all(run["status"] == "COMPLETED" for run in runs)
    assert [len(sink.handler.to(e)) for e in emails] == [1] * len(emails)
    assert (rows[0]["n"], rows[0]["d"]) == (len(enrolled), len(enrolled))


async def test_smtp_outage_during_a_tick_is_retried_without_duplicates(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    emails = [address(tenant, f"out{i}") for i in range(3)]
    enrolled = await enroll(email_stack, tenant, sequence["id"], *map(contact, emails))
    sink.stop()
    try:
        running = asyncio.create_task(tick(email_stack, job_max_attempts={"email_tick": 30}))
        await _wait_for_delivery_error(email_stack, tenant, "unavailable")
    finally:
        sink.restart()
    run = await running
    sent = [await deliveries(email_stack, tenant, e["id"]) for e in enrolled]

    assert run["status"] == "COMPLETED" and run["attempt"] >= 2
    assert [len(sink.handler.to(e)) for e in emails] == [1, 1, 1]
    assert all(d["status"] == "SENT" and d["attempts"] >= 2 for [d] in sent)


async def test_temporary_rejection_is_retried_and_sent_once(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    to = address(tenant, "busy")
    [enrolled] = await enroll(email_stack, tenant, sequence["id"], contact(to))
    sink.handler.defer_next = 1
    run = await tick(email_stack)
    [delivery] = await deliveries(email_stack, tenant, enrolled["id"])

    assert run["status"] == "COMPLETED" and run["attempt"] == 2
    assert len(sink.handler.to(to)) == 1
    assert delivery["status"] == "SENT" and delivery["attempts"] == 2


async def test_permanent_rejection_bounces_that_enrollment_only(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant = await email_stack.new_tenant()
    sequence = await create_sequence(email_stack, tenant)
    emails = [address(tenant, name) for name in ("ok1", "gone", "ok2")]
    enrolled = await enroll(email_stack, tenant, sequence["id"], *map(contact, emails))
    sink.handler.rejected.add(emails[1])
    run = await tick(email_stack)
    states = [await enrollment(email_stack, tenant, e["id"]) for e in enrolled]
    [bounce] = await deliveries(email_stack, tenant, enrolled[1]["id"])

    assert run["status"] == "COMPLETED"
    assert [(s["status"], s["stopReason"]) for s in states] == [
        ("ACTIVE", None),
        ("STOPPED", "BOUNCED"),
        ("ACTIVE", None),
    ]
    assert [len(sink.handler.to(e)) for e in emails] == [1, 0, 1]
    assert bounce["status"] == "FAILED" and bounce["error"].startswith("550")
    assert bounce["sentAt"] is None


async def test_worker_start_creates_the_schedule_idempotently_and_trigger_ticks(
    email_stack: Stack,
) -> None:
    client = await Client.connect(email_stack.settings.temporal_address)
    settings = email_stack.settings.model_copy(update={"email_tick_interval_seconds": 86400})
    await ensure_email_schedule(client, settings.model_copy(update={"email_batch_size": 5}))
    await ensure_email_schedule(client, settings)
    handle = client.get_schedule_handle(schedule_id(settings))
    try:
        described = await handle.describe()
        triggered = await trigger_tick(client, settings)  # what `conveyor email tick` does
        row = await _wait_for_tick(email_stack, schedule_id(settings))
    finally:
        await handle.delete()

    spec = described.schedule.spec
    assert [i.every for i in spec.intervals] == [timedelta(days=1)]
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert triggered == f"schedule {schedule_id(settings)}"
    assert row["status"] == "COMPLETED" and row["org_id"] == "system"


async def _wait_for_delivery_error(stack: Stack, tenant: Tenant, fragment: str) -> None:
    for _ in range(200):
        rows = await stack.sql(
            "SELECT error FROM email_deliveries WHERE org_id = $1 AND error LIKE $2",
            tenant.org_id,
            f"%{fragment}%",
        )
        if rows:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no delivery recorded the outage")


async def _wait_for_tick(stack: Stack, prefix: str) -> dict[str, Any]:
    for _ in range(200):
        rows = await stack.sql(
            "SELECT * FROM job_runs WHERE job_id LIKE $1 AND finished_at IS NOT NULL",
            f"{prefix}-20%",
        )
        if rows:
            return dict(rows[0])
        await asyncio.sleep(0.05)
    raise AssertionError("the triggered tick did not run")
