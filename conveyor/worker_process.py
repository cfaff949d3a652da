"""The `conveyor worker` process: clients built in main, workers until a signal."""

import asyncio
import signal
from collections.abc import Sequence

from conveyor.constants import TaskQueue
from conveyor.db import create_engine, create_session_maker
from conveyor.logs import configure_logging
from conveyor.memory import return_large_buffers_to_the_os
from conveyor.settings import Settings
from conveyor.storage import create_s3_client, ensure_bucket
from conveyor.temporal import connect, ensure_search_attributes


async def _serve(settings: Settings, queues: Sequence[TaskQueue]) -> None:
    from worker.main import WorkerDeps, run_workers

    engine = create_engine(settings.database_url)
    s3 = create_s3_client(settings)
    await asyncio.to_thread(ensure_bucket, s3, settings.s3_bucket)
    client = await connect(settings)
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


def run_worker_process(settings: Settings, queues: Sequence[TaskQueue]) -> None:
    configure_logging(settings.log_level)
    return_large_buffers_to_the_os()
    asyncio.run(_serve(settings, queues))
