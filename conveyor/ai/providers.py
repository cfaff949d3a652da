"""Who answers a prompt: OpenAI (or any compatible server), or the offline provider.

Temporal owns retries, so the OpenAI client never retries by itself; each
provider error becomes an ApplicationError whose retryability says what
another attempt could change: 429 and 5xx and lost connections are retried
(honouring Retry-After), a rejected request fails at once with the
provider's own message.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import openai
from openai import AsyncOpenAI
from temporalio.exceptions import ApplicationError

from conveyor.ai.pricing import OFFLINE_MODEL, Usage
from conveyor.ai.task_types import Prompt
from conveyor.ai.text import count_tokens
from conveyor.settings import Settings

log = logging.getLogger(__name__)

RATE_LIMITED = "ProviderRateLimited"
UNAVAILABLE = "ProviderUnavailable"
REJECTED = "ProviderRejected"
BAD_OUTPUT = "ProviderBadOutput"


@dataclass(frozen=True)
class Completion:
    data: dict[str, Any]
    usage: Usage


class Provider(Protocol):
    def effective_model(self, requested: str) -> str: ...

    async def complete(self, model: str, prompt: Prompt) -> Completion: ...


class OfflineProvider:
    """Extractive answers with no model and no cost, for `make run` without a key."""

    def effective_model(self, requested: str) -> str:
        return OFFLINE_MODEL

    async def complete(self, model: str, prompt: Prompt) -> Completion:
        data = prompt.offline()
        usage = Usage(
            tokens_in=count_tokens(prompt.system) + count_tokens(prompt.user),
            tokens_out=count_tokens(json.dumps(data, ensure_ascii=False)),
        )
        return Completion(data, usage)


class OpenAIProvider:
    def __init__(self, client: AsyncOpenAI, max_in_flight: int) -> None:
        self._client = client
        # The worker's cap on calls waiting on the model, whatever its slots.
        self._in_flight = asyncio.Semaphore(max_in_flight)

    def effective_model(self, requested: str) -> str:
        return requested

    async def complete(self, model: str, prompt: Prompt) -> Completion:
        async with self._in_flight:
            return await self._complete(model, prompt)

    async def _complete(self, model: str, prompt: Prompt) -> Completion:
        try:
            response = await self._client.chat.completions.create(
                model=model,
                messages=[
                    {"role": "system", "content": prompt.system},
                    {"role": "user", "content": prompt.user},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": prompt.schema_name,
                        "schema": prompt.schema,
                        "strict": True,
                    },
                },
                max_completion_tokens=prompt.max_output_tokens,
            )
        except openai.APIError as err:
            raise provider_error(err) from err
        return Completion(_parse_content(response), _usage(response))


def _parse_content(response: Any) -> dict[str, Any]:
    content = response.choices[0].message.content if response.choices else None
    try:
        data = json.loads(content or "")
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise ApplicationError(f"the model did not answer JSON: {content!r:.200}", type=BAD_OUTPUT)
    return data


def _usage(response: Any) -> Usage:
    usage = response.usage
    if usage is None:
        return Usage()
    details = usage.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details else 0
    return Usage(usage.prompt_tokens, cached, usage.completion_tokens)


def provider_error(err: openai.APIError) -> ApplicationError:
    """What a failed call means for the next attempt."""
    if isinstance(err, openai.RateLimitError):
        return ApplicationError(
            f"the provider rate-limited the request (429): {err.message}",
            type=RATE_LIMITED,
            next_retry_delay=_retry_after(err),
        )
    if isinstance(err, openai.APIStatusError) and err.status_code < 500:
        return ApplicationError(
            f"the provider rejected the request ({err.status_code}): {err.message}",
            type=REJECTED,
            non_retryable=True,
        )
    if isinstance(err, openai.APIStatusError):
        return ApplicationError(
            f"the provider failed ({err.status_code}): {err.message}", type=UNAVAILABLE
        )
    return ApplicationError(f"could not reach the provider: {err.message}", type=UNAVAILABLE)


def _retry_after(err: openai.RateLimitError) -> timedelta | None:
    value = err.response.headers.get("retry-after")
    try:
        return timedelta(seconds=float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: leave the delay to the retry policy


def create_provider(settings: Settings) -> Provider:
    """OpenAI when a key is configured; the offline provider only when none is."""
    if not settings.openai_api_key:
        log.info("no OPENAI_API_KEY: AI tasks are answered offline by %s", OFFLINE_MODEL)
        return OfflineProvider()
    client = AsyncOpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url or None,
        max_retries=0,
        timeout=settings.openai_timeout_seconds,
    )
    return OpenAIProvider(client, settings.ai_max_concurrent_activities)
