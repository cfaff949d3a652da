"""The lifecycle every job workflow runs its work inside.

It reports the end of the job to the `job_runs` mirror exactly once:
COMPLETED with the work's summary, FAILED (and dead-lettered) with a readable
error once the work's retries are exhausted or its input is bad, or
CANCELLED when the workflow is cancelled.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TimeoutError,
)
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.job_runs import JobRunActivities
    from conveyor.constants import JobStatus
    from conveyor.jobs.errors import NON_RETRYABLE_ERRORS, ORG_AT_LIMIT
    from conveyor.jobs.payloads import FinishJobInput, JobRef, RetrySpec, SystemRunInput

T = TypeVar("T")

# How a failed activity reaches the workflow: an ActivityError around the
# cause, except that a local activity's ApplicationError arrives unwrapped.
# `run_job` treats an ApplicationError the workflow raises itself the same
# way: the workflow fails, so the job must end FAILED too, not stay RUNNING.
ACTIVITY_FAILURES = (ActivityError, ApplicationError)

# How long a job whose org is at its cap waits before asking for a slot again.
_SLOT_WAIT_FIRST = timedelta(seconds=1)
_SLOT_WAIT_MAX = timedelta(seconds=30)
# The mirror write must land eventually: a database outage delays it, never drops it.
_MIRROR_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=0)


async def run_job(
    job: JobRef, work: Callable[[], Awaitable[T]], summarize: Callable[[T], dict[str, Any]]
) -> T:
    """Runs `work` and mirrors how it ended; re-raises failure and cancellation."""
    try:
        output = await work()
    except asyncio.CancelledError:
        await _finish(job, JobStatus.CANCELLED, error="cancelled on request")
        raise
    except ACTIVITY_FAILURES as err:
        if isinstance(err, ActivityError) and isinstance(err.cause, CancelledError):
            await _finish(job, JobStatus.CANCELLED, error="cancelled on request")
            raise
        message = describe_failure(err)
        await _finish(job, JobStatus.FAILED, error=message)
        raise ApplicationError(message, non_retryable=True) from err
    await _finish(job, JobStatus.COMPLETED, result=summarize(output))
    return output


async def run_scheduled_job(
    job_name: str,
    work: Callable[[JobRef], Awaitable[T]],
    summarize: Callable[[T], dict[str, Any]],
) -> T:
    """`run_job` for a workflow a Schedule starts: it first gets its `job_runs` row."""
    info = workflow.info()
    job = await workflow.execute_activity_method(
        JobRunActivities.start_system_run,
        SystemRunInput(info.workflow_id, info.run_id, job_name, info.task_queue),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=_MIRROR_RETRY,
    )
    return await run_job(job, lambda: work(job), summarize)


async def execute_job_activity(
    activity: Callable[..., Awaitable[T]],
    arg: Any,
    retry: RetrySpec,
    start_to_close: timedelta,
    local: bool = False,
) -> T:
    """Runs a job's main activity; while its org is at its cap, waits and asks again.

    The wait is a durable timer: it holds no worker slot, survives restarts,
    and spends none of the job's retries. A `local` activity runs in the
    workflow's own task, which spares the server an activity task: worth it
    for short work that has no progress to heartbeat.
    """
    wait = _SLOT_WAIT_FIRST
    while True:
        try:
            if local:
                return await workflow.execute_local_activity_method(
                    activity, arg, **local_job_activity_options(retry, start_to_close)
                )
            return await workflow.execute_activity_method(
                activity, arg, **job_activity_options(retry, start_to_close)
            )
        except ACTIVITY_FAILURES as err:
            if failure_type(err) != ORG_AT_LIMIT:
                raise
        await workflow.sleep(wait)
        wait = min(wait * 2, _SLOT_WAIT_MAX)


def job_activity_options(retry: RetrySpec, start_to_close: timedelta) -> dict[str, Any]:
    """How every job's main activity runs: the kind's retry policy and heartbeat
    timeout, and cancellation that waits for the activity to clean up."""
    return local_job_activity_options(retry, start_to_close) | {
        "heartbeat_timeout": retry.heartbeat_timeout
    }


def local_job_activity_options(retry: RetrySpec, start_to_close: timedelta) -> dict[str, Any]:
    """`job_activity_options` less the heartbeat, which local activities do not have."""
    return {
        "start_to_close_timeout": start_to_close,
        "retry_policy": retry.policy(NON_RETRYABLE_ERRORS),
        "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }


def failure_type(err: ActivityError | ApplicationError) -> str | None:
    """The type an activity gave its ApplicationError, if it raised one."""
    cause = err.cause if isinstance(err, ActivityError) else err
    return cause.type if isinstance(cause, ApplicationError) else None


def describe_failure(err: ActivityError | ApplicationError) -> str:
    """The root cause in words a user can act on, not a stack of wrappers."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError):
        return cause.message
    if isinstance(err, ActivityError) and isinstance(cause, TimeoutError):
        return f"{err.activity_type} timed out ({cause.type.name.lower() if cause.type else ''})"
    return str(cause or err)


async def _finish(
    job: JobRef, status: JobStatus, result: dict[str, Any] | None = None, error: str | None = None
) -> None:
    workflow.logger.info("job %s", status.value.lower(), extra=_log_fields(job) | {"error": error})
    # A local activity: one database write needs no trip through the task
    # queue, and the job's end is not queued behind other jobs' work.
    await workflow.execute_local_activity_method(
        JobRunActivities.finish_job,
        FinishJobInput(job=job, status=status.value, result=result or {}, error=error),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=_MIRROR_RETRY,
    )


def _log_fields(job: JobRef) -> dict[str, Any]:
    return {
        "correlation_id": job.correlation_id,
        "org_id": job.org_id,
        "job_id": job.job_id,
        "job_name": job.job_name,
    }
