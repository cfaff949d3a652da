"""The AI task activity: condense long input map-reduce style, ask the model, bill it."""

import functools
import hashlib
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from temporalio import activity
from temporalio.exceptions import ApplicationError

from conveyor.ai.payloads import NEEDS_MANY_CALLS, AiTaskActivityInput, AiTaskResult
from conveyor.ai.pricing import PRICE_TABLE_VERSION, PriceTable, Usage
from conveyor.ai.providers import BAD_OUTPUT, Completion, Provider
from conveyor.ai.service import month_spend
from conveyor.ai.task_types import (
    TASK_TYPES,
    BadModelOutput,
    Prompt,
    TaskType,
    summarize_prompt,
)
from conveyor.ai.text import CHARS_PER_TOKEN, estimate_tokens, split_into_chunks, truncate
from conveyor.db import SessionMaker, asyncpg_dsn
from conveyor.jobs.errors import BAD_INPUT
from conveyor.jobs.mirror import JobRunMirror
from conveyor.jobs.progress import ProgressReporter
from conveyor.jobs.slots import OrgSlots
from conveyor.models import AiTask
from conveyor.settings import Settings

SPEND_LIMIT_REACHED = "SpendLimitReached"
# Room left in a model's window for the instructions and the answer.
_PROMPT_OVERHEAD_TOKENS = 3_000
_CONDENSED_CHARS = 1_500


def _bad_input(message: str) -> ApplicationError:
    return ApplicationError(message, type=BAD_INPUT, non_retryable=True)


class AiTaskActivities:
    def __init__(self, session_maker: SessionMaker, provider: Provider, settings: Settings) -> None:
        self._session_maker = session_maker
        self._mirror = JobRunMirror(session_maker)
        self._provider = provider
        self._settings = settings
        self._prices = PriceTable(settings.ai_prices)
        self._slots = OrgSlots(asyncpg_dsn(settings.database_url), settings)

    @activity.defn
    async def run_ai_task(self, request: AiTaskActivityInput) -> AiTaskResult:
        """Answers the task, in one of the org's AI slots when it has a cap."""
        async with self._slots.hold(request.job):
            return await self._run_ai_task(request, one_call_only=False)

    @activity.defn
    async def run_short_ai_task(self, request: AiTaskActivityInput) -> AiTaskResult:
        """`run_ai_task` for input one model call can take, run as a local activity.

        Longer input raises NEEDS_MANY_CALLS before any call: its map-reduce
        belongs in a regular activity, whose heartbeats let a retry resume it.
        """
        async with self._slots.hold(request.job):
            return await self._run_ai_task(request, one_call_only=True)

    async def _run_ai_task(self, request: AiTaskActivityInput, one_call_only: bool) -> AiTaskResult:
        """Runs the task, charging every model call to the task as it happens.

        A retried attempt resumes from the chunk summaries its predecessor
        heartbeated, so a 429 halfway through a long document re-asks only
        what was not answered yet.
        """
        async with self._mirror.starting_attempt(
            request.job.job_run_id, activity.info()
        ) as session:
            task = await session.get(AiTask, uuid.UUID(request.ai_task_id))
        if task is None:
            raise _bad_input(f"AI task {request.ai_task_id} does not exist")
        task_type, task_input = _parse(task)
        model = self._provider.effective_model(task.model)
        if self._prices.get(model) is None:
            raise _bad_input(f"model {model!r} has no price; allowed: {self._prices.models}")
        chunk_tokens = self._chunk_budget(model)
        if one_call_only and estimate_tokens(task_input.content) > chunk_tokens:
            raise ApplicationError(
                "the input needs more than one model call",
                type=NEEDS_MANY_CALLS,
                non_retryable=True,
            )
        await self._check_spend(task.org_id)
        async with ProgressReporter(self._mirror, request.job.job_run_id) as progress:
            charge = functools.partial(self.charge, task.id, model)
            run = _TaskRun(self._provider, model, charge, progress, chunk_tokens)
            return await run.answer(task_type, task_input)

    async def charge(
        self, task_id: uuid.UUID, model: str, usage: Usage, output: dict[str, Any] | None = None
    ) -> AiTaskResult:
        """Adds one call's tokens and exact cost to the task (it is the ledger),
        with the task's answer when this call gave it; returns the totals."""
        values: dict[str, Any] = {
            "model": model,
            "price_version": PRICE_TABLE_VERSION,
            "tokens_in": AiTask.tokens_in + usage.tokens_in,
            "tokens_out": AiTask.tokens_out + usage.tokens_out,
            "cost_cents": AiTask.cost_cents + self._prices.cost_cents(model, usage),
            "calls": AiTask.calls + 1,
        }
        if output is not None:
            values["output"] = output
        async with self._session_maker.begin() as session:
            row = (
                await session.execute(
                    update(AiTask)
                    .where(AiTask.id == task_id)
                    .values(values)
                    .returning(
                        AiTask.model, AiTask.tokens_in, AiTask.tokens_out,
                        AiTask.cost_cents, AiTask.calls,
                    )
                )
            ).one()  # fmt: skip
        return AiTaskResult(
            row.model, row.tokens_in, row.tokens_out, str(row.cost_cents), row.calls
        )

    async def _check_spend(self, org_id: str) -> None:
        if self._settings.ai_monthly_limit(org_id) is None:
            return
        async with self._session_maker() as session:
            spend = await month_spend(session, self._settings, org_id)
        if spend.limit_cents is not None and spend.spent_cents >= spend.limit_cents:
            raise ApplicationError(
                f"the org's monthly AI spending limit of {spend.limit_cents}¢ is reached"
                f" (spent {spend.spent_cents:.6f}¢)",
                type=SPEND_LIMIT_REACHED,
                non_retryable=True,
            )

    def _chunk_budget(self, model: str) -> int:
        price = self._prices.get(model)
        assert price is not None
        budget = max(1_000, price.context_tokens - _PROMPT_OVERHEAD_TOKENS)
        configured = self._settings.ai_chunk_tokens
        return min(budget, configured) if configured else budget


def _parse(task: AiTask) -> tuple[TaskType, Any]:
    task_type = TASK_TYPES.get(task.type)
    if task_type is None:
        raise _bad_input(f"task type {task.type!r} no longer exists")
    try:
        return task_type, task_type.input_model.model_validate(task.input)
    except ValidationError as err:
        raise _bad_input(f"invalid input: {err}") from err


class _TaskRun:
    """One attempt at a task: condense what does not fit, then ask the real question."""

    def __init__(
        self,
        provider: Provider,
        model: str,
        charge: Callable[[Usage, dict[str, Any] | None], Awaitable[AiTaskResult]],
        progress: ProgressReporter,
        chunk_tokens: int,
    ) -> None:
        self._provider = provider
        self._model = model
        self._charge = charge
        self._progress = progress
        self._chunk_tokens = chunk_tokens
        self._condensed_chars = min(_CONDENSED_CHARS, chunk_tokens * CHARS_PER_TOKEN // 3)
        self._summaries: dict[str, str] = dict(ProgressReporter.resumed_checkpoint() or {})
        self._calls = 0
        self._expected_calls = 1

    async def answer(self, task_type: TaskType, task_input: Any) -> AiTaskResult:
        text = await self._condense(task_input.content)
        completion = await self._ask(task_type.prompt(task_input, text))
        try:
            output = task_type.check(task_input, completion.data)
        except BadModelOutput as err:
            await self._charge(completion.usage, None)
            raise ApplicationError(str(err), type=BAD_OUTPUT) from err
        # The last call's cost and the answer are written together.
        return await self._charge(completion.usage, output)

    async def _condense(self, text: str) -> str:
        """Map-reduce: summarize chunks until the whole fits one call."""
        self._expected_calls = math.ceil(estimate_tokens(text) / self._chunk_tokens) + 1
        while estimate_tokens(text) > self._chunk_tokens:
            chunks = split_into_chunks(text, self._chunk_tokens)
            text = "\n\n".join([await self._summary_of(chunk) for chunk in chunks])
        return text

    async def _summary_of(self, chunk: str) -> str:
        key = hashlib.sha256(chunk.encode()).hexdigest()
        if key not in self._summaries:
            completion = await self._ask(summarize_prompt(self._condensed_chars, chunk))
            await self._charge(completion.usage, None)
            summary = str(completion.data.get("summary", ""))
            self._summaries[key] = truncate(summary, self._condensed_chars)
            self._progress.checkpoint = self._summaries
        return self._summaries[key]

    async def _ask(self, prompt: Prompt) -> Completion:
        """One model call; the caller charges it to the task."""
        completion = await self._provider.complete(self._model, prompt)
        self._calls += 1
        self._progress.update(self._calls, max(self._expected_calls, self._calls + 1))
        return completion
