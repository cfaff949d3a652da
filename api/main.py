"""The FastAPI application: clients and engines live for the app's lifespan."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import install_error_handlers
from api.routes import (
    ai_tasks,
    dead_letters,
    documents,
    email_events,
    exports,
    file_objects,
    health,
    job_runs,
    metrics,
    prometheus,
    sequences,
)
from conveyor.constants import CORRELATION_HEADER
from conveyor.db import asyncpg_dsn, create_engine, create_session_maker
from conveyor.jobs.events import JobRunEvents
from conveyor.logs import log_context
from conveyor.prometheus import sdk_runtime
from conveyor.settings import Settings, get_settings
from conveyor.storage import create_s3_client, ensure_bucket
from conveyor.temporal import connect, ensure_search_attributes
from conveyor.tracing import Tracing
from worker.main import WorkerDeps, parse_queues, run_workers


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings.database_url)
    app.state.session_maker = create_session_maker(engine)
    tracing: Tracing | None = app.state.tracing
    tracer = tracing.tracer if tracing is not None else None
    app.state.temporal = await connect(settings, runtime=sdk_runtime(), tracer=tracer)
    await ensure_search_attributes(app.state.temporal)
    s3 = create_s3_client(settings)
    await asyncio.to_thread(ensure_bucket, s3, settings.s3_bucket)
    app.state.s3 = s3
    app.state.presign_s3 = create_s3_client(settings, settings.s3_public_endpoint_url or None)
    app.state.job_run_events = JobRunEvents(asyncpg_dsn(settings.database_url))
    await app.state.job_run_events.start()
    workers = None
    if settings.queue_workers_enabled:
        deps = WorkerDeps(settings, app.state.session_maker, s3)
        workers = asyncio.create_task(run_workers(app.state.temporal, deps, parse_queues(None)))
    try:
        yield
    finally:
        if workers is not None:
            workers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await workers
        await app.state.job_run_events.stop()
        await engine.dispose()
        if tracing is not None:
            tracing.shutdown()


class CorrelationIdMiddleware:
    """Tags each request, its log lines and the jobs it starts with one
    correlation id: the caller's X-Request-ID, else a new one, echoed back.

    Plain ASGI rather than `@app.middleware("http")`, which wraps every
    request and response in extra tasks and streams.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = Headers(scope=scope).get(CORRELATION_HEADER)
        correlation_id = (given or uuid.uuid4().hex)[:128]
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        with log_context(correlation_id=correlation_id):
            await self._app(scope, receive, send_tagged)


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="Conveyor",
        summary="Background jobs for SaaS products, on Temporal.",
        lifespan=_lifespan,
    )
    app.state.settings = settings or get_settings()
    app.add_middleware(CorrelationIdMiddleware)
    install_error_handlers(app)
    for module in (
        health, exports, ai_tasks, documents, sequences, email_events,
        job_runs, dead_letters, file_objects, metrics, prometheus,
    ):  # fmt: skip
        app.include_router(module.router)
    app.state.tracing = Tracing.from_settings(app.state.settings, "conveyor-api")
    if app.state.tracing is not None:
        app.state.tracing.instrument(app)

    return app
