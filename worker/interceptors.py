"""Binds each activity's job to the log context, and logs how each attempt went."""

import logging
import time
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from conveyor.jobs.payloads import JobRef
from conveyor.logs import log_context

log = logging.getLogger("conveyor.activity")


class JobLogContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _JobLogContext(next)


class _JobLogContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        job = getattr(input.args[0], "job", None) if input.args else None
        if not isinstance(job, JobRef):
            return await super().execute_activity(input)
        with log_context(
            correlation_id=job.correlation_id,
            org_id=job.org_id,
            job_id=job.job_id,
            job_name=job.job_name,
        ):
            return await self._logged(input)

    async def _logged(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        started = time.monotonic()
        log.info("%s attempt %d started", info.activity_type, info.attempt)
        try:
            result = await super().execute_activity(input)
        except BaseException as err:
            log.warning(
                "%s attempt %d failed after %.2fs: %s",
                info.activity_type, info.attempt, time.monotonic() - started, err,
            )  # fmt: skip
            raise
        log.info(
            "%s attempt %d completed in %.2fs",
            info.activity_type, info.attempt, time.monotonic() - started,
        )  # fmt: skip
        return result
