"""A local OpenAI-compatible server, for tests and benchmarks: no paid API is called.

It speaks `POST /v1/chat/completions` with `usage`, answers the JSON schema
it was asked for, and can be scripted to answer 429, 500 or 400, or slowly.
The real `openai` client talks to it over HTTP.
"""

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from conveyor.devstack import free_port


@dataclass
class Fault:
    status: int
    message: str = "scripted failure"
    retry_after: str | None = None


@dataclass
class OpenAIStub:
    latency: float = 0.0
    cached_tokens: int = 0
    # Answers for the next calls in order; None answers normally.
    faults: list[Fault | None] = field(default_factory=list)
    always: Fault | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    usages: list[dict[str, int]] = field(default_factory=list)
    # Set when a call arrives; cleared by `reset`.
    called: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self) -> None:
        self.latency, self.cached_tokens, self.always = 0.0, 0, None
        self.faults.clear()
        self.requests.clear()
        self.usages.clear()
        self.called.clear()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            self.called.set()
            # Waits out the latency, or less if the client hangs up (a
            # cancelled task), so a slow answer never holds up shutdown.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(request.receive(), timeout=self.latency)
            fault = self.always or (self.faults.pop(0) if self.faults else None)
            if fault is not None:
                return _error(fault)
            return JSONResponse(self._completion(body))

        return app

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        content = json.dumps(_answer(body), ensure_ascii=False)
        prompt = sum(len(m["content"]) for m in body["messages"]) // 4
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": max(1, len(content) // 4),
            "total_tokens": prompt + max(1, len(content) // 4),
            "prompt_tokens_details": {"cached_tokens": min(self.cached_tokens, prompt)},
        }
        self.usages.append(usage)
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }


def _error(fault: Fault) -> JSONResponse:
    headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else None
    body = {"error": {"message": fault.message, "type": "invalid_request_error", "code": None}}
    return JSONResponse(body, status_code=fault.status, headers=headers)


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """A deterministic answer in the shape the request's JSON schema asks for."""
    schema = body["response_format"]["json_schema"]
    text = body["messages"][-1]["content"].split("Text:\n", 1)[-1]
    if schema["name"] == "summary":
        return {"summary": f"Summary: {text[:120]}"}
    if schema["name"] == "keywords":
        words = re.findall(r"[A-Za-z]{4,}", text)
        return {"keywords": list(dict.fromkeys(w.lower() for w in words))[:5]}
    labels = schema["schema"]["properties"]["label"]["enum"]
    return {"label": labels[-1], "confidence": 0.87}


@contextlib.asynccontextmanager
async def running_stub(stub: OpenAIStub) -> AsyncIterator[OpenAIStub]:
    """Serves `stub` on a free loopback port for the duration of the block."""
    stub.port = free_port()
    config = uvicorn.Config(stub.app(), host="127.0.0.1", port=stub.port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.02)
    try:
        yield stub
    finally:
        server.should_exit = True
        await task
