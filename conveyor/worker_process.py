"""The `conveyor worker` process: clients built in main, workers until a signal."""

import asyncio
import logging
import signal
from collections.abc import Sequence
from http.server import ThreadingHTTPServer

from conveyor.constants import TaskQueue
from conveyor.db import create_engine, create_session_maker
from conveyor.logs import configure_logging
from conveyor.memory import return_large_buffers_to_the_os
from conveyor.prometheus import sdk_runtime, serve_metrics
from conveyor.settings import Settings
from conveyor.storage import create_s3_client, ensure_bucket
from conveyor.temporal import connect, ensure_search_attributes
from conveyor.tracing import Tracing

log = logging.getLogger("conveyor.worker")


async def _serve(settings: Settings, queues: Sequence[TaskQueue]) -> None:
    from worker.main import WorkerDeps, run_workers

    # An activity that meets a dropped connection is retried by Temporal.
    engine = create_engine(settings.database_url, pre_ping=False)
    s3 = create_s3_client(settings)
    await asyncio.to_thread(ensure_bucket, s3, settings.s3_bucket)
    metrics = _metrics_server(settings)
    tracing = Tracing.from_settings(settings, "conveyor-worker")
    client = await connect(
        settings,
        runtime=sdk_runtime() if metrics is not None else None,
        tracer=tracing.tracer if tracing is not None else None,
    )
    await ensure_search_attributes(client)
    task = asyncio.create_task(
        run_workers(client, WorkerDeps(settings, create_session_maker(engine), s3), queues)
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await engine.dispose()
        if metrics is not None:
            metrics.shutdown()
        if tracing is not None:
            tracing.shutdown()


def _metrics_server(settings: Settings) -> ThreadingHTTPServer | None:
    """The worker's /metrics; a taken port costs the metrics, never the jobs."""
    if not settings.worker_metrics_port:
        return None
    try:
        return serve_metrics(settings.metrics_host, settings.worker_metrics_port)
    except OSError as err:
        log.error(
            "no /metrics: cannot listen on %s:%d (%s); set WORKER_METRICS_PORT to a free"
            " port, or 0 for none",
            settings.metrics_host,
            settings.worker_metrics_port,
            err.strerror,
        )
        return None


def run_worker_process(settings: Settings, queues: Sequence[TaskQueue]) -> None:
    configure_logging(settings.log_level)
    return_large_buffers_to_the_os()
    asyncio.run(_serve(settings, queues))
