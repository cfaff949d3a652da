"""AI tasks end to end: the real `openai` client against a local compatible server."""

import asyncio
import json
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from conveyor.ai.pricing import PriceTable, Usage
from conveyor.constants import TaskQueue
from tests.helpers import Services, Stack, Tenant, in_process_worker, start_stack
from tests.openai_stub import Fault, OpenAIStub

TEXT = (
    "Conveyor runs background jobs for SaaS products. Exports stream rows into object storage. "
    "AI tasks summarize text through OpenAI and record tokens and cost. "
    "Operators watch every job in the Temporal Web UI."
)
PRICES = PriceTable()


def summarize(content: str = TEXT, **extra: Any) -> dict[str, Any]:
    return {"type": "SUMMARIZE", "input": {"content": content, "maxLength": 300}, **extra}


async def run_task(stack: Stack, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    accepted = await stack.start("/api/ai-tasks", tenant, body)
    await stack.wait_for(tenant, accepted["jobRunId"])
    return await stack.get(tenant, f"/api/ai-tasks/{accepted['aiTaskId']}")


def expected_cost(stub: OpenAIStub, model: str = "gpt-4o-mini") -> Decimal:
    usage = Usage()
    for u in stub.usages:
        cached = u["prompt_tokens_details"]["cached_tokens"]
        usage += Usage(u["prompt_tokens"], cached, u["completion_tokens"])
    return PRICES.cost_cents(model, usage)


async def test_summary_goes_queued_running_done_with_exact_cost(
    ai_stack: Stack, stub: OpenAIStub
) -> None:
    tenant = await ai_stack.new_tenant()
    stub.latency = 1.0
    accepted = await ai_stack.start("/api/ai-tasks", tenant, summarize(model="gpt-4o-mini"))
    assert accepted["status"] == "QUEUED"
    running = await ai_stack.wait_for(tenant, accepted["jobRunId"], ("RUNNING",))
    task_url = f"/api/ai-tasks/{accepted['aiTaskId']}"
    assert (await ai_stack.get(tenant, task_url))["status"] == "RUNNING"
    await ai_stack.wait_for(tenant, running["id"], ("COMPLETED",))
    task = await ai_stack.get(tenant, task_url)

    assert task["status"] == "DONE"
    assert task["output"]["summary"].startswith("Summary: Conveyor runs")
    assert len(task["output"]["summary"]) <= 300
    usage = stub.usages[0]
    assert task["tokensIn"] == usage["prompt_tokens"]
    assert task["tokensOut"] == usage["completion_tokens"]
    assert Decimal(task["costCents"]) == (
        Decimal(usage["prompt_tokens"]) * Decimal("0.15")
        + Decimal(usage["completion_tokens"]) * Decimal("0.60")
    ) / Decimal(10_000)
    assert task["model"] == "gpt-4o-mini"
    assert task["startedAt"] and task["finishedAt"] and task["jobRunId"] == running["id"]
    request = stub.requests[0]
    assert request["response_format"]["json_schema"]["strict"] is True


async def test_cached_input_tokens_are_billed_at_the_cached_price(
    ai_stack: Stack, stub: OpenAIStub
) -> None:
    tenant = await ai_stack.new_tenant()
    stub.cached_tokens = 40
    task = await run_task(ai_stack, tenant, summarize(model="gpt-4.1-mini"))
    usage = stub.usages[0]
    assert Decimal(task["costCents"]) == (
        (usage["prompt_tokens"] - 40) * Decimal("0.40")
        + 40 * Decimal("0.10")
        + usage["completion_tokens"] * Decimal("1.60")
    ) / Decimal(10_000)


async def test_rate_limited_then_answered_is_done_on_attempt_two(
    ai_stack: Stack, stub: OpenAIStub
) -> None:
    tenant = await ai_stack.new_tenant()
    stub.faults.append(Fault(429, "slow down", retry_after="0.2"))
    task = await run_task(ai_stack, tenant, summarize())
    run = await ai_stack.get(tenant, f"/api/job-runs/{task['jobRunId']}")

    assert task["status"] == "DONE"
    assert run["attempt"] == 2
    assert len(stub.requests) == 2
    assert Decimal(task["costCents"]) == expected_cost(stub)


async def test_rejected_request_fails_at_once_with_the_providers_message(
    ai_stack: Stack, stub: OpenAIStub
) -> None:
    tenant = await ai_stack.new_tenant()
    stub.faults.append(Fault(400, "This model's maximum context length is exceeded"))
    task = await run_task(ai_stack, tenant, summarize())
    run = await ai_stack.get(tenant, f"/api/job-runs/{task['jobRunId']}")

    assert task["status"] == "FAILED"
    assert run["attempt"] == 1
    assert len(stub.requests) == 1
    assert "rejected the request (400)" in task["error"]
    assert "maximum context length" in task["error"]
    assert task["costCents"] == "0"


async def test_provider_outage_ends_in_dead_letters(ai_stack: Stack, stub: OpenAIStub) -> None:
    tenant = await ai_stack.new_tenant()
    stub.always = Fault(500, "upstream exploded")
    task = await run_task(ai_stack, tenant, summarize())
    letters = await ai_stack.get(tenant, "/api/dead-letters?job_name=ai_task")

    assert task["status"] == "FAILED"
    assert "the provider failed (500)" in task["error"]
    assert len(stub.requests) == 5
    assert [letter["jobRunId"] for letter in letters] == [task["jobRunId"]]
    stub.always = None
    replay = await ai_stack.client.post(
        f"/api/dead-letters/{letters[0]['id']}/replay", headers=tenant.headers
    )
    assert (await ai_stack.wait_for(tenant, replay.json()["jobRunId"]))["status"] == "COMPLETED"


async def test_long_content_is_summarized_map_reduce(ai_stack: Stack, stub: OpenAIStub) -> None:
    tenant = await ai_stack.new_tenant()
    sentences = [f"Paragraph {i} talks about topic number {i} in some detail." for i in range(60)]
    content = " ".join(sentences)  # ~3,500 characters: several 200-token chunks
    task = await run_task(ai_stack, tenant, summarize(content))

    assert task["status"] == "DONE"
    assert task["calls"] == len(stub.requests) >= 4
    chunk_requests = stub.requests[:-1]
    assert all("Paragraph" in r["messages"][-1]["content"] for r in chunk_requests)
    assert stub.requests[-1]["messages"][-1]["content"].count("Summary: ") == len(chunk_requests)
    assert task["tokensIn"] == sum(u["prompt_tokens"] for u in stub.usages)
    assert task["tokensOut"] == sum(u["completion_tokens"] for u in stub.usages)
    assert Decimal(task["costCents"]) == expected_cost(stub)


async def activity_kinds(stack: Stack, job_id: str) -> Counter[str]:
    """How the workflow ran its activities: 'local:<type>' markers and '<type>' tasks."""
    client = await Client.connect(stack.settings.temporal_address)
    history = await client.get_workflow_handle(job_id).fetch_history()
    kinds: Counter[str] = Counter()
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == "core_local_activity":
            payload = marker.details["data"].payloads[0]
            kinds[f"local:{json.loads(payload.data)['activity_type']}"] += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            kinds[event.activity_task_scheduled_event_attributes.activity_type.name] += 1
    return kinds


async def test_one_call_runs_locally_and_long_input_in_a_resumable_activity(
    ai_stack: Stack, stub: OpenAIStub
) -> None:
    tenant = await ai_stack.new_tenant()
    short = await run_task(ai_stack, tenant, summarize())
    short_run = await ai_stack.job_run(tenant, short["jobRunId"])
    assert await activity_kinds(ai_stack, short_run["jobId"]) == {
        "local:run_short_ai_task": 1,
        "local:finish_job": 1,
    }

    stub.reset()
    sentences = [f"Paragraph {i} talks about topic number {i} in some detail." for i in range(60)]
    stub.faults[:] = [None, None, Fault(429, "slow down", retry_after="0.1")]
    long = await run_task(ai_stack, tenant, summarize(" ".join(sentences)))
    long_run = await ai_stack.job_run(tenant, long["jobRunId"])

    assert long["status"] == "DONE"
    assert long_run["attempt"] == 2
    assert await activity_kinds(ai_stack, long_run["jobId"]) == {
        "local:run_short_ai_task": 1,
        "run_ai_task": 1,
        "local:finish_job": 1,
    }
    # The retry resumed from the two chunk summaries heartbeated before the 429.
    asked = Counter(r["messages"][-1]["content"] for r in stub.requests)
    assert sorted(asked.values(), reverse=True)[:2] == [2, 1]
    assert len(stub.requests) == long["calls"] + 1
    assert Decimal(long["costCents"]) == expected_cost(stub)


async def test_cancelling_a_task_waiting_on_the_model(ai_stack: Stack, stub: OpenAIStub) -> None:
    tenant = await ai_stack.new_tenant()
    stub.latency = 60
    accepted = await ai_stack.start("/api/ai-tasks", tenant, summarize())
    await asyncio.wait_for(stub.called.wait(), timeout=30)
    response = await ai_stack.client.post(
        f"/api/job-runs/{accepted['jobRunId']}/cancel", headers=tenant.headers
    )
    assert response.status_code == 202
    # Long before the model would have answered.
    run = await ai_stack.wait_for(tenant, accepted["jobRunId"], within=30)
    task = await ai_stack.get(tenant, f"/api/ai-tasks/{accepted['aiTaskId']}")

    assert run["status"] == "CANCELLED"
    assert task["status"] == "CANCELLED"
    assert task["calls"] == 0
    assert task["costCents"] == "0"
    dead = await ai_stack.sql("SELECT count(*) FROM dead_letters WHERE org_id = $1", tenant.org_id)
    assert dead[0][0] == 0


async def test_keywords_and_classification(ai_stack: Stack, stub: OpenAIStub) -> None:
    tenant = await ai_stack.new_tenant()
    keywords = await run_task(
        ai_stack, tenant, {"type": "EXTRACT_KEYWORDS", "input": {"content": TEXT, "maxKeywords": 3}}
    )
    labels = ["billing", "infrastructure", "product"]
    classified = await run_task(
        ai_stack, tenant, {"type": "CLASSIFY", "input": {"content": TEXT, "labels": labels}}
    )
    assert keywords["output"] == {"keywords": ["conveyor", "runs", "background"]}
    assert classified["output"] == {"label": "product", "confidence": 0.87}
    schema = stub.requests[1]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["label"]["enum"] == labels


async def test_bad_input_is_400_and_queues_nothing(ai_stack: Stack) -> None:
    tenant = await ai_stack.new_tenant()
    cases = [
        ({"type": "SUMMARIZE", "input": {"content": "   "}}, "content must not be empty"),
        ({"type": "POEM", "input": {"content": TEXT}}, "unknown type 'POEM'"),
        (summarize(model="gpt-9-ultra"), "unknown model 'gpt-9-ultra'"),
        ({"type": "SUMMARIZE", "input": {"content": TEXT, "maxLength": 10}}, "maxLength"),
        (summarize("x" * 20_001), "the limit is 20000"),
        ({"type": "CLASSIFY", "input": {"content": TEXT, "labels": ["a", "a"]}}, "distinct"),
    ]
    for body, fragment in cases:
        response = await ai_stack.client.post("/api/ai-tasks", json=body, headers=tenant.headers)
        assert response.status_code == 400, (body, response.text)
        assert fragment in response.json()["message"], response.json()
    assert await ai_stack.get(tenant, "/api/ai-tasks") == []


async def test_same_payload_same_task_and_other_orgs_cannot_see_it(ai_stack: Stack) -> None:
    tenant, other = await ai_stack.new_tenant(), await ai_stack.new_tenant()
    first = await ai_stack.start("/api/ai-tasks", tenant, summarize())
    again = await ai_stack.start("/api/ai-tasks", tenant, summarize())
    assert again["aiTaskId"] == first["aiTaskId"]
    response = await ai_stack.client.get(
        f"/api/ai-tasks/{first['aiTaskId']}", headers=other.headers
    )
    assert response.status_code == 404
    assert await ai_stack.get(other, "/api/ai-tasks") == []


async def test_costs_per_user_add_up(ai_stack: Stack, stub: OpenAIStub) -> None:
    tenant = await ai_stack.new_tenant("alice")
    bob = await ai_stack.new_tenant("bob")
    bob = Tenant(tenant.org_id, "bob", await _token(ai_stack, tenant.org_id, "bob"))
    tasks = {
        "alice": [await run_task(ai_stack, tenant, summarize(f"{TEXT} {i}")) for i in range(2)],
        "bob": [await run_task(ai_stack, bob, summarize(f"{TEXT} bob"))],
    }
    costs = await ai_stack.get(tenant, "/api/metrics/ai-costs")

    by_user = {row["userId"]: row for row in costs}
    for user, done in tasks.items():
        total = sum(Decimal(t["costCents"]) for t in done)
        assert Decimal(by_user[user]["totalCostCents"]) == total
        assert by_user[user]["taskCount"] == len(done)
        assert Decimal(by_user[user]["avgCostCents"]) == total / len(done)


async def _token(stack: Stack, org_id: str, user_id: str) -> str:
    from conveyor.auth import create_token

    async with stack.session_maker.begin() as session:
        return await create_token(session, org_id, user_id)


async def test_offline_provider_answers_without_a_key(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    task = await run_task(stack, tenant, summarize(TEXT + " " + TEXT))

    assert task["status"] == "DONE"
    assert task["model"] == "local-extractive"
    assert task["costCents"] == "0"
    assert task["tokensIn"] > 0 and task["tokensOut"] > 0
    summary = task["output"]["summary"]
    assert 0 < len(summary) <= 300
    assert all(sentence.rstrip(".") in TEXT for sentence in summary.split(". "))


async def _spent_earlier(stack: Stack, tenant: Tenant, cents: str) -> None:
    await stack.sql_many(
        "INSERT INTO ai_tasks (org_id, user_id, type, input, model, status, cost_cents)"
        " VALUES ($1, $2, 'SUMMARIZE', '{}', 'gpt-4o-mini', 'DONE', $3::numeric)",
        [(tenant.org_id, tenant.user_id, cents)],
    )


def _limited_stack(services: Services, stub: OpenAIStub, **overrides: Any) -> Any:
    return start_stack(
        services,
        f"limit-{uuid.uuid4().hex[:8]}-",
        openai_api_key="test-key",
        openai_base_url=stub.base_url,
        ai_monthly_limit_cents=Decimal("0.05"),
        **overrides,
    )


async def test_a_task_that_would_exceed_the_spending_limit_is_refused(
    services: Services, stub: OpenAIStub
) -> None:
    async with _limited_stack(services, stub) as stack:
        tenant = await stack.new_tenant()
        await _spent_earlier(stack, tenant, "0.049")
        response = await stack.client.post(
            "/api/ai-tasks", json=summarize(), headers=tenant.headers
        )
        spend = await stack.get(tenant, "/api/ai/spend")

    assert response.status_code == 402
    assert response.json()["code"] == "spend_limit_exceeded"
    assert "monthly AI spending limit of 0.05¢" in response.json()["message"]
    assert Decimal(spend["spentCents"]) == Decimal("0.049")
    assert Decimal(spend["limitCents"]) == Decimal("0.05")
    assert Decimal(spend["remainingCents"]) == Decimal("0.001")
    assert stub.requests == []


async def test_a_queued_task_stops_when_the_limit_was_reached_meanwhile(
    services: Services, stub: OpenAIStub
) -> None:
    async with _limited_stack(services, stub, queue_workers_enabled=False) as stack:
        tenant = await stack.new_tenant()
        accepted = await stack.start("/api/ai-tasks", tenant, summarize())
        await _spent_earlier(stack, tenant, "0.06")
        async with in_process_worker(stack, TaskQueue.AI):
            run = await stack.wait_for(tenant, accepted["jobRunId"])

    assert run["status"] == "FAILED"
    assert run["attempt"] == 1
    assert "monthly AI spending limit of 0.05¢ is reached" in run["error"]
    assert stub.requests == []
