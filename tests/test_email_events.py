"""Stop conditions from outside: the signed webhook and the one-click unsubscribe link."""

import json
from typing import Any

import httpx

from conveyor.email.signing import SIGNATURE_HEADER, body_signature
from conveyor.email.sink import SmtpSink
from tests.conftest import EMAIL_WEBHOOK_SECRET
from tests.helpers import Stack, Tenant
from tests.test_email_sequence import (
    address,
    contact,
    create_sequence,
    deliveries,
    enroll,
    enrollment,
    make_due,
    tick,
)


async def post_event(
    stack: Stack, event: dict[str, Any], secret: str = EMAIL_WEBHOOK_SECRET
) -> httpx.Response:
    body = json.dumps(event).encode()
    return await stack.client.post(
        "/api/email/events",
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: body_signature(secret, body),
        },
    )


async def sent_sequence(
    stack: Stack, tenant: Tenant, *names: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A sequence whose first step went out to one contact per name."""
    sequence = await create_sequence(stack, tenant)
    enrolled = await enroll(
        stack, tenant, sequence["id"], *(contact(address(tenant, n)) for n in names)
    )
    await tick(stack)
    return sequence, enrolled


async def test_replies_bounces_and_complaints_stop_their_enrollments(email_stack: Stack) -> None:
    tenant = await email_stack.new_tenant()
    _, enrolled = await sent_sequence(email_stack, tenant, "replier", "bouncer", "complainer", "ok")
    message_ids = [
        (await deliveries(email_stack, tenant, e["id"]))[0]["messageId"] for e in enrolled
    ]
    answers = [
        await post_event(email_stack, {"type": "reply", "messageId": message_ids[0]}),
        await post_event(email_stack, {"type": "bounce", "messageId": message_ids[1].strip("<>")}),
        await post_event(
            email_stack,
            {"type": "complaint", "orgId": tenant.org_id, "email": enrolled[2]["email"]},
        ),
        await post_event(email_stack, {"type": "reply", "messageId": "<unknown@acme.test>"}),
    ]
    states = [await enrollment(email_stack, tenant, e["id"]) for e in enrolled]
    later = await create_sequence(email_stack, tenant)
    [complainer_again] = await enroll(
        email_stack, tenant, later["id"], contact(enrolled[2]["email"])
    )

    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json() for a in answers] == [
        {"matched": True, "stopped": 1},
        {"matched": True, "stopped": 1},
        {"matched": True, "stopped": 1},
        {"matched": False, "stopped": 0},
    ]
    assert [(s["status"], s["stopReason"]) for s in states] == [
        ("STOPPED", "REPLIED"),
        ("STOPPED", "BOUNCED"),
        ("STOPPED", "COMPLAINED"),
        ("ACTIVE", None),
    ]
    assert (complainer_again["status"], complainer_again["stopReason"]) == (
        "STOPPED",
        "COMPLAINED",
    )


async def test_webhook_rejects_a_bad_signature(email_stack: Stack) -> None:
    tenant = await email_stack.new_tenant()
    _, [enrolled] = await sent_sequence(email_stack, tenant, "victim")
    event = {"type": "unsubscribe", "orgId": tenant.org_id, "email": enrolled["email"]}
    forged = await post_event(email_stack, event, secret="guessed")
    unsigned = await email_stack.client.post("/api/email/events", json=event)
    state = await enrollment(email_stack, tenant, enrolled["id"])

    assert forged.status_code == unsigned.status_code == 401
    assert forged.json()["code"] == "bad_signature"
    assert state["status"] == "ACTIVE"


async def test_unsubscribe_link_works_without_a_token_and_suppresses_the_org(
    email_stack: Stack, sink: SmtpSink
) -> None:
    tenant, other = await email_stack.new_tenant(), await email_stack.new_tenant()
    _, [enrolled] = await sent_sequence(email_stack, tenant, "leaver")
    to = enrolled["email"]
    second = await create_sequence(email_stack, tenant)
    [elsewhere] = await enroll(email_stack, tenant, second["id"], contact(to))
    other_sequence = await create_sequence(email_stack, other)
    [other_org] = await enroll(email_stack, other, other_sequence["id"], contact(to))
    link = sink.handler.to(to)[0].message["List-Unsubscribe"].strip("<>")
    path = httpx.URL(link).path

    page = await email_stack.client.get(path)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert (await enrollment(email_stack, tenant, enrolled["id"]))["status"] == "ACTIVE"
    clicked = await email_stack.client.post(path, content=b"List-Unsubscribe=One-Click")
    third = await create_sequence(email_stack, tenant)
    [late] = await enroll(email_stack, tenant, third["id"], contact(to))
    await make_due(email_stack, enrolled["id"], elsewhere["id"])
    before = len(sink.handler.to(to))
    await tick(email_stack)

    assert clicked.status_code == 200 and "will not receive" in clicked.text
    for row in (enrolled, elsewhere, late):
        state = await enrollment(email_stack, tenant, row["id"])
        assert (state["status"], state["stopReason"]) == ("STOPPED", "UNSUBSCRIBED")
    assert (await enrollment(email_stack, other, other_org["id"]))["status"] == "ACTIVE"
    # Only the other org's first step went out after the click.
    assert len(sink.handler.to(to)) == before + 1
    assert sink.handler.to(to)[-1].message["Message-ID"].startswith(f"<{other_org['id']}.1@")


async def test_unsubscribe_link_cannot_be_forged(email_stack: Stack, sink: SmtpSink) -> None:
    tenant = await email_stack.new_tenant()
    _, [victim, attacker] = await sent_sequence(email_stack, tenant, "victim", "attacker")
    link = sink.handler.to(attacker["email"])[0].message["List-Unsubscribe"].strip("<>")
    _, mac = httpx.URL(link).path.rsplit("/", 1)[1].split(".")
    forgeries = [
        f"/unsubscribe/{victim['id'].replace('-', '')}.{mac}",  # another enrollment, same mac
        f"/unsubscribe/{victim['id'].replace('-', '')}.{mac[:-2]}AA",
        f"/unsubscribe/{victim['id'].replace('-', '')}",
        "/unsubscribe/garbage",
    ]
    for path in forgeries:
        for method in ("GET", "POST"):
            response = await email_stack.client.request(method, path)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["code"] == "not_found"
    assert (await enrollment(email_stack, tenant, victim["id"]))["status"] == "ACTIVE"
