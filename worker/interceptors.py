"""Binds each activity's job to the log context, so its log lines name the job."""

from typing import Any

from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from conveyor.jobs.payloads import JobRef
from conveyor.logs import log_context


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
            return await super().execute_activity(input)
